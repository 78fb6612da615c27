"""The package's structure: layers that point one way, a plain package, a clean public namespace.

``LAYERS`` is the declared order, written once (ARCHITECTURE.md draws it): a module may import
modules of its own layer or of a lower one, never of a higher one, not even inside a function
(``if TYPE_CHECKING:`` blocks aside), and no imports may form a cycle.
"""
from __future__ import annotations

import ast
import fnmatch
import importlib
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

import frugal

PACKAGE = Path(frugal.__file__).parent

# Lowest first. A name ending in ".*" covers every module of that subpackage.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("leaves", ("frugal.errors", "frugal._version", "frugal.units", "frugal.measurement",
                "frugal.progress", "frugal.hooks", "frugal._store_file", "frugal._output")),
    ("facts and probes", ("frugal.data", "frugal.hardware", "frugal.grid", "frugal.probes",
                          "frugal.probes.*", "frugal._records", "frugal._arrays")),
    ("hot path", ("frugal._span", "frugal._hot")),
    ("settings", ("frugal.config",)),
    ("energy", ("frugal.energy", "frugal.energy.*")),
    ("columns", ("frugal.columns", "frugal.process")),
    ("frames and statistics", ("frugal.frame", "frugal.stats")),
    ("analysis", ("frugal.runner", "frugal.verdicts", "frugal.grades", "frugal.comparison",
                  "frugal.complexity", "frugal.frugality", "frugal._sampler", "frugal.profiler")),
    ("outputs", ("frugal.plot", "frugal.plot.*", "frugal.store", "frugal._store_writer",
                 "frugal._run_info", "frugal._store_read", "frugal._chunks", "frugal.dashboard",
                 "frugal._dashboard_page", "frugal._dashboard_runs", "frugal.flamegraph")),
    ("front ends", ("frugal.cli", "frugal.__main__", "frugal.demo", "frugal.ipython", "frugal._script",
                    "frugal.pytest_plugin", "frugal.pytest_plugin.*", "frugal.dask", "frugal.dask.*",
                    "frugal._deprecated")),
    ("package", ("frugal",)),
)


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


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules that ``tree`` imports, at top level and inside functions."""
    found: set[str] = set()

    def target(name: str) -> str | None:
        # the longest known module that ``name`` is or lies in
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                hit = target(alias.name)
                if hit:
                    found.add(hit)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join(here + ([base] if base else []))
            for alias in node.names:
                hit = target(f"{base}.{alias.name}") if f"{base}.{alias.name}" in known else target(base)
                if hit:
                    found.add(hit)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def layer_of(module: str, layers: tuple[tuple[str, tuple[str, ...]], ...]) -> int | None:
    for index, (_, patterns) in enumerate(layers):
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return index
    return None


def check(root: Path, package: str, layers: tuple[tuple[str, tuple[str, ...]], ...]) -> list[str]:
    """Every problem with the package's imports: unplaced modules, upward imports, cycles."""
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
        for dep in sorted(graph[m]):
            ld = layer_of(dep, layers)
            if ld is not None and ld > lm:
                problems.append(f"{m} ({layers[lm][0]}) imports {dep} ({layers[ld][0]}), a higher layer")
    # cycles: depth-first search, reporting each one once
    state: dict[str, int] = {}
    stack: list[str] = []
    seen_cycles: set[frozenset[str]] = set()

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for dep in sorted(graph.get(m, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                if frozenset(cycle) not in seen_cycles:
                    seen_cycles.add(frozenset(cycle))
                    problems.append("import cycle: " + " -> ".join(cycle))
            elif dep not in state:
                dfs(dep)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m)
    return problems


# --- the tests ------------------------------------------------------------------------------

def test_imports_point_down_and_form_no_cycle() -> None:
    """frugal's modules import only their own layer or lower ones, and no cycle exists."""
    assert check(PACKAGE, "frugal", LAYERS) == []


def test_the_check_bites_on_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    """A package with a cycle, an upward import inside a function and an unplaced module is refused."""
    pkg = tmp_path / "toy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("def f():\n    from toy import high\n")      # upward, in a function
    (pkg / "high.py").write_text("from toy.low import f\n")
    (pkg / "a.py").write_text("import toy.b\n")
    (pkg / "b.py").write_text("from toy import a\n")                          # a <-> b
    (pkg / "stray.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import toy.high\n")
    layers = (("low", ("toy.low", "toy.a", "toy.b")), ("high", ("toy.high",)), ("top", ("toy",)))
    problems = check(pkg, "toy", layers)
    assert "toy.low (low) imports toy.high (high), a higher layer" in problems
    assert any(p.startswith("import cycle: toy.a -> toy.b -> toy.a") for p in problems)
    assert "toy.stray is in no layer: add it to LAYERS" in problems
    assert not any("toy.stray imports" in p for p in problems)   # TYPE_CHECKING imports are types only


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
    import frugal.comparison as fc

    assert fc.Comparison is frugal.Comparison
    assert isinstance(frugal.compare, types.FunctionType)    # importing the module did not replace it


def test_old_import_paths_warn_and_work() -> None:
    """from frugal.compare import Comparison works for one release, with a DeprecationWarning."""
    with pytest.warns(DeprecationWarning, match="frugal.comparison"):
        from frugal.compare import Comparison
    assert Comparison is frugal.Comparison
    with pytest.warns(DeprecationWarning, match="frugal.frugality"):
        from frugal.indicators import indicators
    assert indicators is frugal.indicators
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert callable(frugal.compare)       # the public function itself never warns


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
