"""The ``chainrule`` command."""
from __future__ import annotations

import argparse
import sys


def _demo(args):
    from .explain.demos import DEMOS
    from .tabular.settings import check_seed
    check_seed(args.seed)
    demo = DEMOS[args.name]
    kwargs = {"seed": args.seed, "plot": args.plot, "lang": args.lang}
    if args.plot and args.name != "diagnose":  # say so before training, not after
        from .explain.plot import require_matplotlib
        from .tabular.commands import check_out
        require_matplotlib()
        check_out(args.plot, option="--plot")
    demo(**kwargs)
    return 0


def _playground(args):
    from .playground import serve
    return serve(host=args.host, port=args.port, open_browser=args.open)


def build_parser():
    from .explain.demos import DEMOS
    parser = argparse.ArgumentParser(prog="chainrule", description=(
        "Neural networks with every forward and backward pass written out in NumPy."))
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show chainrule's version and engine, and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    from .explain.demo_text import LANGUAGES
    from .explain.demos import ABOUT
    listing = "\n".join(f"  {name:<10} {about}" + (f"  [needs chainrule[{extra}]]" if extra else "")
                        for name, (about, extra) in ABOUT.items())
    demo = commands.add_parser(
        "demo", help="run one of the classic examples",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one of the classic examples: it trains, prints what it learned, and "
                    "with --plot saves a figure.",
        epilog=f"demos:\n{listing}\n\n--plot needs chainrule[plot] (matplotlib). All of them, "
               "with figures: pip install 'chainrule[plot,sklearn]'")
    demo.add_argument("name", choices=list(DEMOS), help="which example (see below)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--plot", metavar="FILE.png", help="save a figure of the result")
    demo.add_argument("--lang", choices=list(LANGUAGES), default="en",
                      help="the language of what the demo prints: en (default), or zh (简体中文)")
    demo.set_defaults(func=_demo)
    _add_tabular_commands(commands)
    play = commands.add_parser("playground", help="train a network in the browser, step by step "
                                                  "(needs chainrule[playground])")
    play.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    play.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1: this machine only)")
    play.add_argument("--open", action="store_true", help="open the page in a web browser")
    play.set_defaults(func=_playground)
    return parser


# -- train / predict / info: networks for tabular data (chainrule/cli_tabular.py) -----------

def _add_tabular_commands(commands):
    from .tabular.commands import add_commands
    add_commands(commands)

class _Version(argparse.Action):
    """--version, worked out only when asked, and without importing numba (0.1-0.2 s of a
    0.4 s start): the engine is the one an installed numba gives when first used."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(_version())
        parser.exit()


def _version():
    from . import engine
    from ._version import __version__
    info = engine.config(load=False)
    later = ", loaded when first used" if info.get("loaded") is False and info["engine"] == "compiled" else ""
    return (f"chainrule {__version__} (engine: {info['engine']}{later}; numpy {info['numpy']}; "
            f"numba {info['numba']})")


def main(argv=None):
    try:
        # inside the try: --version asks the engine, and a bad CHAINRULE_ENGINE is one line too
        args = build_parser().parse_args(argv)
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (``chainrule predict ... | head``): not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError) as error:
        print(f"chainrule: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130


def _one_line(error):
    from .tabular.read import printable  # a name in the message is data: no control character passes
    return printable(" ".join(str(error).split()) or type(error).__name__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
