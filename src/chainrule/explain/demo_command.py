"""``chainrule demo NAME``: its options, its help and its errors, in English or 简体中文.

The command speaks the language of its ``--lang`` from the first word it prints: the
language is read from the command line before argparse parses it (:func:`language`), so
that ``--help`` and every mistake in the command line are told in it too. argparse
checks only the shape of the command line; the demo's name, the seed and the figure's
file are checked here, before any training, each error with its twin in
``demo_text.TEXT`` (the keys ``help.*`` and ``error.*``).
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import sys

from ..validation import SEED_LIMIT
from .demo_text import LANGUAGES, say
from .text import pad, width, wrap

#: The options that take a value.
OPTIONS = ("--seed", "--plot", "--lang")


def language(argv):
    """The language ``chainrule demo`` was asked to speak in ``argv`` ("en" unless its
    ``--lang`` is one the demos speak), read before parsing, as argparse would read it
    (the last ``--lang`` wins; ``--lang=zh`` and the prefixes ``--l``, ``--la``, ``--lan`` too)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "demo" not in argv[:1]:
        return "en"
    lang = "en"
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        option, equals, value = arg.partition("=")
        if len(option) >= 3 and "--lang".startswith(option):
            value = value if equals else (argv[i + 1] if i + 1 < len(argv) else "")
            lang = value if value in LANGUAGES else "en"
    return lang


def add_command(commands, lang="en"):
    """Add ``demo`` to ``commands`` (argparse sub-parsers), its help in ``lang``."""
    demo = commands.add_parser("demo", help="run one of the classic examples", add_help=False)
    # nargs="?" and no choices or types: the checks, and their messages, are ours (check)
    demo.add_argument("name", nargs="?")
    for option in OPTIONS:
        demo.add_argument(option, nargs="?", default=argparse.SUPPRESS)
    demo.add_argument("-h", "--help", action=_Help, nargs=0, lang=lang)
    demo.set_defaults(func=run)
    return demo


class _Help(argparse.Action):
    def __init__(self, *args, lang="en", **kwargs):
        super().__init__(*args, **kwargs)
        self.lang = lang

    def __call__(self, parser, namespace, values, option_string=None):
        print(help_text(self.lang))
        parser.exit()


def help_text(lang, columns=None):
    """``chainrule demo --help`` in ``lang``, in lines of at most ``columns`` columns (by
    default the terminal's, up to 100), a wide character counted as the two it takes."""
    from .demos import DEMOS, NEEDS
    if columns is None:
        columns = max(60, min(100, shutil.get_terminal_size((100, 24)).columns - 2))
    options = {"--seed": say(lang, "help.seed_option"), "--plot": say(lang, "help.plot_option"),
               "--lang": "--lang en|zh", "-h": "-h, --help"}
    column = 2 + max(map(width, [*DEMOS, *options.values()])) + 2

    def rows(items):
        lines = []
        for label, about, note in items:
            body = wrap(about, columns, indent=" " * column)
            # a note ("[needs chainrule[sklearn]]") stays whole: at the end, or on a line of its own
            if note and width(body[-1] + "  " + note) <= columns:
                body[-1] += "  " + note
            elif note:
                body.append(" " * column + note)
            lines += [pad("  " + label, column) + body[0].lstrip(), *body[1:]]
        return lines
    demos = [(name, say(lang, f"about.{name}"), NEEDS[name] and say(lang, "help.needs", extra=NEEDS[name]))
             for name in DEMOS]
    told = [say(lang, "help.usage"), "", *wrap(say(lang, "help.description"), columns), "",
            say(lang, "help.demos"), *rows(demos), "", say(lang, "help.options"),
            *rows([(options["--seed"], say(lang, "help.seed", largest=SEED_LIMIT - 1), None),
                   (options["--plot"], say(lang, "help.plot"), None),
                   (options["--lang"], say(lang, "help.lang"), None),
                   (options["-h"], say(lang, "help.help"), None)]),
            "", *wrap(say(lang, "help.extras"), columns), "  pip install 'chainrule[plot,sklearn]'"]
    return "\n".join(told)


def usage_error(lang, message):
    """Exit as argparse does for a mistake in the command line (status 2), in ``lang``."""
    print(say(lang, "help.usage"), file=sys.stderr)
    print(say(lang, "error", prog="chainrule demo", message=message), file=sys.stderr)
    raise SystemExit(2)


def run(args):
    """Run the demo ``args`` names: every argument checked first, the figure's file too."""
    from .demos import DEMOS
    options = vars(args)
    given = options.get("lang", "en")
    lang = given if given in LANGUAGES else "en"   # one the demos do not speak: told in English
    for option in OPTIONS:
        if option[2:] in options and options[option[2:]] is None:
            usage_error(lang, say(lang, "error.no_value", option=option))
    if given != lang:
        usage_error(lang, say(lang, "error.lang", got=_shown(given), choices=", ".join(LANGUAGES)))
    name = check_name(args.name, lang)
    seed = check_seed(options.get("seed", "0"), lang)
    check_engine(lang)
    plot = options.get("plot")
    if plot is not None:
        if name == "diagnose":
            raise ValueError(say(lang, "error.diagnose_plot"))
        check_plot(plot, lang, name)   # before training, not after it
    if plot is not None and lang == "zh":
        return _without_chinese_glyphs(lambda: DEMOS[name](seed=seed, plot=plot, lang=lang))
    DEMOS[name](seed=seed, plot=plot, lang=lang)
    return 0


def _without_chinese_glyphs(run_demo):
    """A Chinese figure on a system with no CJK font: said once, before training, in the
    demo's language, in place of matplotlib's warning for each missing glyph."""
    import warnings

    from . import plot as _plot
    if _plot.cjk_fonts():
        run_demo()
        return 0
    lang = "zh"
    print(say(lang, "warning", message=_plot.no_cjk_font(lang)), file=sys.stderr)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        warnings.filterwarnings("ignore", message=re.escape(_plot.no_cjk_font(lang)))
        run_demo()
    return 0


def check_name(name, lang):
    from .demos import DEMOS
    names = ("、" if lang == "zh" else ", ").join(DEMOS)
    if name is None:
        usage_error(lang, say(lang, "error.no_name", names=names))
    if name not in DEMOS:
        close = difflib.get_close_matches(name, DEMOS, n=1)
        hint = say(lang, "error.did_you_mean", name=close[0]) if close else ""
        usage_error(lang, say(lang, "error.name", name=_shown(name), hint=hint, names=names))
    return name


def check_seed(seed, lang):
    """``--seed`` as a whole number from 0 to ``SEED_LIMIT - 1``."""
    try:
        value = int(seed.strip().replace("_", ""), 10)
    except ValueError:
        usage_error(lang, say(lang, "error.seed", largest=SEED_LIMIT - 1, seed=_shown(seed)))
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(say(lang, "error.seed", largest=SEED_LIMIT - 1, seed=value))
    return value


def check_engine(lang):
    """A CHAINRULE_ENGINE that names no engine, told before the demo says a word."""
    from .. import engine
    try:
        engine.config(load=False)
    except ValueError:
        given = os.environ.get("CHAINRULE_ENGINE", "").strip().lower()
        raise ValueError(say(lang, "error.engine", choices=", ".join(engine.ENGINES),
                             got=repr(given))) from None


def check_plot(path, lang, name="figure"):
    """Fail before training when the figure cannot be written to ``path``: matplotlib must
    be installed and know the file's extension, and its folder must exist and be writable."""
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ImportError(say(lang, "error.matplotlib")) from None
    full = os.path.abspath(path)
    if os.path.isdir(full):
        raise ValueError(say(lang, "error.plot_folder", path=path, example=os.path.join(path, f"{name}.png")))
    formats = FigureCanvasBase.get_supported_filetypes()
    extension = os.path.splitext(path)[1][1:]
    if not extension:
        # matplotlib would write "figure.png" where the demo said it wrote "figure"
        raise ValueError(say(lang, "error.plot_extension", path=path, example=f"{path}.png"))
    if extension.lower() not in formats:
        raise ValueError(say(lang, "error.plot_format", path=path, extension=f".{extension}",
                             formats=", ".join(f".{f}" for f in sorted(formats))))
    folder = os.path.dirname(full)
    if not os.path.isdir(folder):
        raise ValueError(say(lang, "error.plot_no_folder", path=path, folder=folder))
    if not os.access(folder, os.W_OK):
        raise ValueError(say(lang, "error.plot_not_writable", path=path, folder=folder))


def _shown(value):
    """A value from the command line as the error shows it: quoted, control characters escaped."""
    return repr(value)
