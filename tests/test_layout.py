"""The layout shows the architecture, and functions read in one screen.

At most a dozen modules sit at the package's root (the rest are in packages by
concern), and no function has more than 60 lines of code: blank lines, comment
lines, its docstring and the functions and classes defined inside it aside.
"""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "src" / "chainrule"
MOST_LINES = 60


def code_lines(source, function):
    """The lines of code of ``function`` (an ast node) in ``source``."""
    lines = set(range(function.lineno, function.end_lineno + 1))
    first = function.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        lines -= set(range(first.lineno, first.end_lineno + 1))
    for node in ast.walk(function):
        if node is not function and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.ClassDef)):
            lines -= set(range(node.lineno, node.end_lineno + 1))
    text = source.splitlines()
    return sum(1 for n in lines if text[n - 1].strip() and not text[n - 1].strip().startswith("#"))


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                count = code_lines(source, node)
                if count > MOST_LINES:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} "
                                f"{node.name}: {count} lines of code")
    assert not long, f"functions over {MOST_LINES} lines of code (split them into named " \
                     "phases):\n" + "\n".join(long)


def test_the_counting_sees_a_long_function():
    # the def line and 60 statements: 61 lines of code; the docstring and comment don't count
    body = "\n".join(f"    x{i} = {i}" for i in range(MOST_LINES))
    source = f'def f():\n    """doc"""\n    # why\n{body}\n'
    function = ast.parse(source).body[0]
    assert code_lines(source, function) == MOST_LINES + 1


def test_at_most_a_dozen_modules_at_the_root():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 12, root
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert {"nn", "engine", "optim", "network", "files", "train", "explain", "tabular",
            "sklearn", "playground"} <= set(packages)
