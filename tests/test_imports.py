"""The architecture, stated once and checked: which module may import which.

Imports point one way, down the ranks of ``RANKS``: the math (``nn``) imports
NumPy and itself; the network builds on the pieces below it; training builds
on the network; the edges (files, estimators, command line, playground) may use
anything. Every import statement counts, the ones inside functions too: a
lazy import hides a dependency from the reader, it does not remove it. The one
exception is ``Sequential``'s convenience methods (``net.fit``, ...), which
reach up to the code that does the work.
"""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "src" / "chainrule"

#: Each package's rank, lowest first. A module may import its own rank and below.
#: A name matches the module itself and, for a package, everything inside it.
RANKS = [
    # the math, the version string every layer above may read, and the table of the
    # module paths before the packages (it imports nothing of chainrule's by name)
    ["chainrule.nn", "chainrule._version", "chainrule._moved"],
    # compiled kernels (numba, optional) and their NumPy twins
    ["chainrule.engine"],
    # what the network and the training loop share (patience: the best value so far, which
    # a plateau schedule and the callbacks both track); names turns the edges' strings
    # ("relu", "adam") into nn and optimizer objects, and mlp() reads it, so it sits here
    ["chainrule.optim", "chainrule.validation", "chainrule.names", "chainrule.patience"],
    # the network, its flat buffers and its modes
    ["chainrule.network"],
    # model files and the torch/ONNX interchange: they know layers and networks, not training
    ["chainrule.files"],
    # training and what it reads or writes (a checkpoint is a model file and the optimizer's
    # and the callbacks' state)
    ["chainrule.train"],
    # what explains a network, and the scikit-learn estimators: both build on training
    ["chainrule.explain", "chainrule.sklearn"],
    # tables: the recipe uses the estimators' pieces
    ["chainrule.tabular"],
    # the edges
    ["chainrule.playground", "chainrule.cli", "chainrule.__main__"],
    # the flat public namespace re-exports everything
    ["chainrule"],
]

#: The upward imports allowed: Sequential's convenience methods, (importer, function, imported).
CONVENIENCE = {
    ("chainrule.network.sequential", "Sequential.fit", "chainrule.train.loop"),
    ("chainrule.network.sequential", "Sequential.evaluate", "chainrule.train.loop"),
    ("chainrule.network.sequential", "Sequential.save", "chainrule.files.model"),
    ("chainrule.network.sequential", "Sequential.trace", "chainrule.explain.trace"),
}

#: What a module of nn may import besides nn itself.
NN_MAY_IMPORT = {"numpy", "__future__"} | set(sys.stdlib_module_names)
#: Heavy or optional libraries that importing nn must not load.
HEAVY = ("scipy", "numba", "sklearn", "torch")


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _rank(module):
    """The rank of ``module`` by RANKS (the longest name that matches), or None."""
    best = None
    for rank, names in enumerate(RANKS):
        for name in names:
            matches = module == name or (name != "chainrule" and module.startswith(name + "."))
            if matches and (best is None or len(name) > len(best[1])):
                best = (rank, name)
    return None if best is None else best[0]


def _imports(module):
    """Every import in ``module``'s source: (line, function or None, imported, top-level name).

    ``function`` is the qualified name of the enclosing function ("Sequential.fit"),
    None for an import run when the module is imported. ``imported`` is the
    chainrule module the statement loads, or None for another package.
    """
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node, scope, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append((child.lineno, function, _ours(alias.name), alias.name))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[:len(package.split(".")) - child.level + 1]
                    source = ".".join(base + ([child.module] if child.module else []))
                else:
                    source = child.module
                for alias in child.names:
                    # ``from chainrule import io`` loads the module chainrule.io
                    target = f"{source}.{alias.name}"
                    found.append((child.lineno, function,
                                  _ours(target if target in MODULES else source), source))
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = scope + [child.name]
                in_function = function or not isinstance(child, ast.ClassDef)
                visit(child, inner, ".".join(inner) if in_function else function)
            elif isinstance(child, ast.Lambda):
                visit(child, scope, function or ".".join(scope + ["<lambda>"]))
            else:
                visit(child, scope, function)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), [], None)
    return found


def _ours(name):
    return name if name == "chainrule" or name.startswith("chainrule.") else None


def _where(module, line):
    return f"{MODULES[module].relative_to(PACKAGE.parent.parent)}:{line}"


def _graph(module_level_only):
    """{importer: {imported: (line, function)}} of chainrule's imports of itself."""
    graph = {module: {} for module in MODULES}
    for module in MODULES:
        for line, function, imported, _ in _imports(module):
            if imported is None or imported == module:
                continue
            if module_level_only and function is not None:
                continue
            if (module, function, imported) in CONVENIENCE:
                continue
            graph[module].setdefault(imported, (line, function))
    return graph


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _describe(graph, component):
    """The imports that join ``component``, one per line, with file and line."""
    members = set(component)
    lines = []
    for module in component:
        for imported, (line, function) in sorted(graph[module].items()):
            if imported in members:
                inside = f" (in {function})" if function else ""
                lines.append(f"  {_where(module, line)}: {module} imports {imported}{inside}")
    return "\n".join(lines)


def test_every_module_has_a_rank():
    unranked = [module for module in MODULES if _rank(module) is None]
    assert not unranked, f"add these modules to RANKS in {__file__}: {unranked}"


def test_nn_imports_only_numpy_the_standard_library_and_itself():
    wrong = []
    for module in MODULES:
        if _rank(module) != 0 or not module.startswith("chainrule.nn"):
            continue
        for line, _, imported, name in _imports(module):
            if imported is not None:
                ok = imported.startswith("chainrule.nn")
            else:
                ok = name.partition(".")[0] in NN_MAY_IMPORT
            if not ok:
                wrong.append(f"{_where(module, line)}: {module} imports {imported or name}")
    assert not wrong, "nn is the math: NumPy and itself only\n" + "\n".join(wrong)


def test_importing_nn_loads_nothing_else():
    # chainrule/__init__.py re-exports everything (the flat namespace), and Python runs
    # a package's __init__ before its subpackages: an empty package stands in for it,
    # so that what gets loaded is what nn itself imports
    code = (
        "import sys, types\n"
        f"root = types.ModuleType('chainrule'); root.__path__ = [{str(PACKAGE)!r}]\n"
        "sys.modules['chainrule'] = root\n"
        "import chainrule.nn\n"
        "print('\\n'.join(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    loaded = result.stdout.split()
    assert "chainrule.nn.layers" in loaded
    others = [m for m in loaded if m.startswith("chainrule.") and not m.startswith("chainrule.nn")]
    heavy = sorted({m.partition(".")[0] for m in loaded} & set(HEAVY))
    assert not others and not heavy, f"importing chainrule.nn loaded {others + heavy}"


def test_imports_point_down_the_ranks():
    upward = []
    for module in MODULES:
        for line, function, imported, _ in _imports(module):
            if imported is None or (module, function, imported) in CONVENIENCE:
                continue
            if _rank(imported) > _rank(module):
                inside = f" in {function}" if function else ""
                upward.append(f"{_where(module, line)}: {module} (rank {_rank(module)}) imports "
                              f"{imported} (rank {_rank(imported)}){inside}")
    assert not upward, ("imports must point down the ranks of RANKS (move the code to where "
                        "it belongs, not the import into a function):\n" + "\n".join(upward))


def test_no_import_cycles_at_import_time():
    graph = _graph(module_level_only=True)
    cycles = _cycles(graph)
    assert not cycles, "module-level import cycles:\n" + "\n".join(
        f"{' <-> '.join(c)}\n{_describe(graph, c)}" for c in cycles)


def test_no_import_cycles_inside_functions_either():
    # within one rank the direction test allows either way; imports made inside
    # functions must not close a circle there either (one way means one way)
    graph = _graph(module_level_only=False)
    cycles = _cycles(graph)
    assert not cycles, "import cycles (counting imports inside functions):\n" + "\n".join(
        f"{' <-> '.join(c)}\n{_describe(graph, c)}" for c in cycles)
