"""The ``chainrule`` command."""
from __future__ import annotations

import argparse
import sys


def _playground(args):
    from .playground import serve
    return serve(host=args.host, port=args.port, open_browser=args.open)


def build_parser(lang="en"):
    """The command line's parser; ``lang``: the language of ``chainrule demo --help``."""
    parser = argparse.ArgumentParser(prog="chainrule", description=(
        "Neural networks with every forward and backward pass written out in NumPy."))
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show chainrule's version and engine, and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    from .explain.demo_command import add_command
    add_command(commands, lang)
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
    from .explain.demo_command import language
    lang = language(argv)   # chainrule demo --lang zh says everything in Chinese, its errors too
    try:
        # inside the try: --version asks the engine, and a bad CHAINRULE_ENGINE is one line too
        args = _parse(build_parser(lang), argv, lang)
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (``chainrule predict ... | head``): not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError, MemoryError) as error:
        print(_say(lang, "error", prog="chainrule", message=_one_line(error)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_say(lang, "error.interrupted"), file=sys.stderr)
        return 130


def _parse(parser, argv, lang):
    """``parser.parse_args(argv)``, but what it does not know is told in the demo's language."""
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command == "demo":
        from .explain.demo_command import usage_error
        from .tabular.read import printable  # a name in the message is data: no control character passes
        usage_error(lang, _say(lang, "error.unrecognized", arguments=printable(" ".join(unknown))))
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def _say(lang, key, **fields):
    from .explain.demo_text import say
    return say(lang, key, **fields)


def _one_line(error):
    from .tabular.read import printable  # a name in the message is data: no control character passes
    return printable(" ".join(str(error).split()) or type(error).__name__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
