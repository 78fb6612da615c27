"""The package's structure: folders that are layers pointing one way, a plain package, a clean namespace.

``LAYERS`` is the declared order, written once (ARCHITECTURE.md draws it): a list of folders
(subpackages) and of the few modules at the top of ``frugal/``. A module may import modules of
its own layer or of a lower one, never of a higher one (``if TYPE_CHECKING:`` blocks aside),
and no imports may form a cycle. An upward import is allowed only where ``UPWARD`` declares
it, inside a function (a late import), with the reason.
"""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import frugal

PACKAGE = Path(frugal.__file__).parent

# Lowest first. A name covers that module or folder and everything inside it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("leaves", ("frugal.errors", "frugal._version", "frugal.units", "frugal.validate", "frugal.measurement",
                "frugal.progress", "frugal.files", "frugal.text", "frugal.stats")),
    ("machine", ("frugal.data", "frugal.machine")),
    ("core", ("frugal.core",)),
    ("energy", ("frugal.energy",)),
    ("frames", ("frugal.frames",)),
    ("analysis", ("frugal.analysis",)),
    ("outputs", ("frugal.plot", "frugal.store", "frugal.interop")),
    ("history", ("frugal.history",)),
    ("pages", ("frugal.pages",)),
    ("front ends", ("frugal.cli", "frugal.__main__", "frugal.demo", "frugal.ipython", "frugal.pytest_plugin",
                    "frugal.dask", "frugal.prometheus", "frugal.otel", "frugal.mlflow", "frugal.web")),
    ("package", ("frugal",)),
)

# The only imports of a higher layer: each inside a function, run when its service is first used.
UPWARD: dict[tuple[str, str], str] = {
    ("frugal.core.measure", "frugal.frames.columns"): "Region.result derives its row's energy",
    ("frugal.core.settings", "frugal.store.default"): "a new store setting switches the default store",
    ("frugal.analysis.compare", "frugal.plot"): "Comparison.plot() draws its chart",
    ("frugal.analysis.scaling", "frugal.plot"): "Scaling.plot() draws its chart",
    ("frugal.analysis.profiler", "frugal.pages.flamegraph"): "Profile.flamegraph() draws its page",
}


# --- the checker ----------------------------------------------------------------------------

def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of the package under ``root`` (a package's ``__init__`` is the package)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> dict[str, bool]:
    """The package's modules that ``tree`` imports, each with whether every import of it is late
    (inside a function), at top level and inside functions."""
    found: dict[str, bool] = {}

    def target(name: str) -> str | None:
        # the longest known module that ``name`` is or lies in
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    def add(hit: str | None, late: bool) -> None:
        if hit and hit != module:
            found[hit] = found.get(hit, True) and late

    def visit(node: ast.AST, late: bool) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child, late)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(target(alias.name), late)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join(here + ([base] if base else []))
            for alias in node.names:
                add(target(f"{base}.{alias.name}") if f"{base}.{alias.name}" in known else target(base), late)
        inner = late or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return found


def layer_of(module: str, layers: tuple[tuple[str, tuple[str, ...]], ...]) -> int | None:
    for index, (_, names) in enumerate(layers):
        # a folder covers what it holds; the package itself (no dot) only itself
        if any(module == n or ("." in n and module.startswith(n + ".")) for n in names):
            return index
    return None


def check(root: Path, package: str, layers: tuple[tuple[str, tuple[str, ...]], ...],
          upward: dict[tuple[str, str], str] | None = None) -> list[str]:
    """Every problem with the package's imports: unplaced modules, undeclared upward imports,
    declared ones made at import time or no longer made, cycles."""
    upward = upward or {}
    modules = module_names(root, package)
    known = set(modules)
    graph = {m: _imports(ast.parse(p.read_text(encoding="utf-8")), m, p.name == "__init__.py", known)
             for m, p in modules.items()}
    problems = []
    for m in sorted(graph):
        lm = layer_of(m, layers)
        if lm is None:
            problems.append(f"{m} is in no layer: add it to LAYERS")
            continue
        for dep, late in sorted(graph[m].items()):
            ld = layer_of(dep, layers)
            if ld is None or ld <= lm:
                continue
            if (m, dep) not in upward:
                problems.append(f"{m} ({layers[lm][0]}) imports {dep} ({layers[ld][0]}), a higher layer")
            elif not late:
                problems.append(f"{m} imports {dep} at import time: a declared upward import must be late")
    for m, dep in sorted(upward):
        if dep not in graph.get(m, {}):
            problems.append(f"{m} no longer imports {dep}: remove it from UPWARD")
    # cycles, the declared late upward imports aside: depth-first search, reporting each one once
    edges = {m: sorted(d for d in deps if (m, d) not in upward) for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    seen_cycles: set[frozenset[str]] = set()

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for dep in edges.get(m, ()):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                if frozenset(cycle) not in seen_cycles:
                    seen_cycles.add(frozenset(cycle))
                    problems.append("import cycle: " + " -> ".join(cycle))
            elif dep not in state:
                dfs(dep)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            dfs(m)
    return problems


# --- the tests ------------------------------------------------------------------------------

def test_imports_point_down_and_form_no_cycle() -> None:
    """frugal's modules import only their own layer or lower ones, and no cycle exists."""
    assert check(PACKAGE, "frugal", LAYERS, UPWARD) == []


def test_the_check_bites_on_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    """A cycle, an undeclared upward import, an unplaced module, a declared upward import made at
    import time and a declared one no longer made are each refused."""
    pkg = tmp_path / "toy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "low.py").write_text("def f():\n    from toy import high\n")      # upward, in a function
    (pkg / "early.py").write_text("from toy import high\n")                    # upward, at import time
    (pkg / "late.py").write_text("def f():\n    from toy.sub import deep\n")  # upward, declared, late
    (pkg / "high.py").write_text("from toy.low import f\n")
    (pkg / "sub" / "deep.py").write_text("from toy import late\n")            # no cycle: late is declared
    (pkg / "a.py").write_text("import toy.b\n")
    (pkg / "b.py").write_text("from toy import a\n")                          # a <-> b
    (pkg / "stray.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import toy.high\n")
    layers = (("low", ("toy.low", "toy.a", "toy.b", "toy.early", "toy.late")), ("high", ("toy.high", "toy.sub")),
              ("top", ("toy",)))
    upward = {("toy.early", "toy.high"): "", ("toy.late", "toy.sub.deep"): "", ("toy.a", "toy.high"): ""}
    problems = check(pkg, "toy", layers, upward)
    assert "toy.low (low) imports toy.high (high), a higher layer" in problems
    assert "toy.early imports toy.high at import time: a declared upward import must be late" in problems
    assert "toy.a no longer imports toy.high: remove it from UPWARD" in problems
    assert any(p.startswith("import cycle: toy.a -> toy.b -> toy.a") for p in problems)
    assert not any("toy.late" in p for p in problems)              # declared, late, and used
    assert "toy.stray is in no layer: add it to LAYERS" in problems
    assert not any("toy.stray imports" in p for p in problems)   # TYPE_CHECKING imports are types only
    assert "import cycle: toy.high -> toy.low -> toy.high" in problems     # the undeclared one counts
    assert len(problems) == 6


def test_the_package_is_a_plain_module_with_a_clean_namespace() -> None:
    """frugal is a types.ModuleType; dir() and __all__ show the public API, nothing borrowed."""
    assert type(sys.modules["frugal"]) is types.ModuleType
    design_api = {"measure", "Measurement", "results", "clear", "configure", "environment", "compare",
                  "Comparison", "scaling", "Scaling", "indicators", "report", "load"}
    assert design_api <= set(frugal.__all__)
    assert not {"Any", "annotations", "sys", "types"} & set(dir(frugal))
    for name in frugal.__all__:
        assert getattr(frugal, name) is not None
    for cls in ("Measurement", "Comparison", "Scaling"):
        assert isinstance(getattr(frugal, cls), type)
    assert callable(frugal.compare) and callable(frugal.scaling) and callable(frugal.indicators)


def test_submodules_are_modules_and_keep_their_names() -> None:
    """The modules behind the functions are reachable under their own names."""
    import frugal.analysis.compare as fc

    assert fc.Comparison is frugal.Comparison
    assert isinstance(frugal.compare, types.FunctionType)    # importing the module did not replace it


@pytest.mark.parametrize("path", ["frugal.store", "frugal.plot", "frugal.stats", "frugal.dask", "frugal.ipython",
                                  "frugal.prometheus", "frugal.otel", "frugal.mlflow", "frugal.web", "frugal.interop",
                                  "frugal.pytest_plugin", "frugal.cli", "frugal.__main__"])
def test_every_public_path_imports(path: str) -> None:
    """Each public module path imports in a fresh interpreter (``__main__`` as ``python -m frugal --help``)."""
    code = f"import {path}" if path != "frugal.__main__" else "import runpy, sys; sys.argv = ['frugal', '--help']; runpy.run_module('frugal', run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_public_names_resolve_from_the_package() -> None:
    """Every name of ``frugal.__all__``, the store's face and the pytest11 entry point resolve."""
    from importlib.metadata import entry_points

    for name in frugal.__all__:
        assert getattr(frugal, name) is not None
    store = importlib.import_module("frugal.store")
    for name in store.__all__:
        assert getattr(store, name) is not None
    plugin = [e for e in entry_points(group="pytest11") if e.name == "frugal"]
    assert plugin and plugin[0].load() is importlib.import_module("frugal.pytest_plugin")
    assert callable(frugal.load_ipython_extension)


def test_no_folder_is_a_public_name() -> None:
    """A public function of the package is never also the name of one of its folders or modules."""
    names = {path.stem if path.suffix else path.name for path in PACKAGE.iterdir()}
    assert not set(frugal.__all__) & names


def test_at_most_14_modules_at_the_top_and_none_over_600_lines() -> None:
    """The package's top holds few modules; every module fits in a head."""
    top = [p for p in PACKAGE.glob("*.py")]
    assert len(top) <= 14, sorted(p.name for p in top)
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}


@pytest.mark.slow
def test_every_module_imports_on_its_own_and_reloads() -> None:
    """Each module imports in a fresh interpreter as the first frugal module, and reloads."""
    script = textwrap.dedent("""
        import importlib, sys
        module = importlib.import_module(sys.argv[1])
        importlib.reload(module)
    """)
    names = [m for m in module_names(PACKAGE, "frugal") if m != "frugal.__main__"]
    procs = {m: subprocess.Popen([sys.executable, "-c", script, m], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True) for m in names}
    failed = {}
    for m, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failed[m] = out.strip().splitlines()[-1:]
    assert failed == {}


def test_reloading_the_package_keeps_it_working() -> None:
    """importlib.reload(frugal) leaves a package that still measures."""
    module = importlib.reload(frugal)
    with module.measure("after-reload") as m:
        pass
    assert m.result.name == "after-reload"
