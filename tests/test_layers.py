"""The package's shape: data flows one way, data -> graph -> embed -> tokenize -> model ->
train / eval -> report -> pipeline -> cli, with no import cycle, at module level or inside a
function. Every import of a g2rec module is read from the source (``import``, ``from``, and
``importlib.import_module`` of a constant), wherever it stands."""

import ast
from pathlib import Path

import g2rec.pipeline as pipeline

ROOT = Path(__file__).resolve().parents[1]
PACKAGE, CLI = ROOT / "g2rec", ROOT / "cli"
BASE = {"g2rec.errors", "g2rec.config", "g2rec.deps", "g2rec.sparse", "g2rec.measure", "g2rec.atomic", "g2rec.version"}
# the layer of each subpackage; a module imports only lower layers, the base modules and its own subpackage
LAYERS = {"data": 1, "graph": 2, "embed": 3, "tokenize": 4, "model": 5, "train": 6, "eval": 6, "report": 7,
          "pipeline": 8}
TOP = 9  # g2rec/__init__.py: the facade over the pipeline


def module_name(path: Path, root: Path, package: str) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join((package, *parts))


def imports(path: Path, name: str) -> set[str]:
    """Every module named by an import anywhere in ``path`` (module ``name``), relative ones resolved."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from .x import module`
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
    return found


def graph_of(root: Path, package: str) -> dict[str, set[str]]:
    modules = {module_name(p, root, package): p for p in root.rglob("*.py")}
    return {name: {m for m in imports(path, name) if m in LIB_MODULES} for name, path in modules.items()}


LIB_MODULES = {module_name(p, PACKAGE, "g2rec") for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> tuple[int, str]:
    if module == "g2rec":
        return TOP, "g2rec"
    if module in BASE:
        return 0, module
    sub = module.split(".")[1]
    assert sub in LAYERS, f"{module}: a module outside the layers ({', '.join(LAYERS)}) and the base modules"
    return LAYERS[sub], sub


def test_every_import_goes_down_the_layers():
    wrong = []
    for module, deps in graph_of(PACKAGE, "g2rec").items():
        level, group = layer(module)
        for dep in deps:
            dep_level, dep_group = layer(dep)
            if module in BASE:
                ok = dep in BASE
            else:
                ok = dep_level < level or dep_group == group
            if not ok:
                wrong.append(f"{module} -> {dep}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def test_no_import_cycle():
    deps = graph_of(PACKAGE, "g2rec")
    # a package's __init__ runs before its modules: `g2rec.x.y` also depends on `g2rec.x`
    for module in list(deps):
        parts = module.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in deps and parent != module:
                deps[module] = deps[module] | {parent}
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(deps[node]):
            if dep.startswith(node + "."):
                continue  # a package's __init__ importing its own modules is no cycle
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for module in sorted(deps):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_cli_reaches_the_library_only_through_the_pipeline():
    allowed = {"g2rec.pipeline"} | {f"g2rec.pipeline.{name}" for name in pipeline.__all__}
    for path in CLI.rglob("*.py"):
        used = {m for m in imports(path, module_name(path, CLI, "g2rec_cli")) if m.split(".")[0] == "g2rec"}
        assert used <= allowed, f"{path.name} imports {sorted(used - allowed)}"
    for path in PACKAGE.rglob("*.py"):
        assert not any(m.startswith("g2rec_cli") for m in imports(path, module_name(path, PACKAGE, "g2rec"))), path


def test_the_checker_sees_what_it_must(tmp_path):
    """The import reader itself: relative, absolute, in-function and importlib imports."""
    source = tmp_path / "mod.py"
    source.write_text("from ..data import readers\nimport g2rec.graph.ops\n\ndef f():\n    from .sibling import x\n"
                      "    import importlib\n    importlib.import_module('g2rec.model.prior')\n")
    found = imports(source, "g2rec.embed.mod")
    assert {"g2rec.data", "g2rec.data.readers", "g2rec.graph.ops", "g2rec.embed.sibling", "g2rec.model.prior"} <= found


def test_no_module_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in (*PACKAGE.rglob("*.py"), *CLI.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"modules over 400 lines: {long}"
