"""Every notebook in notebooks/ executes from top to bottom without an error (nbclient)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # Jupyter kernels: not in the quick tier

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
TIMEOUT_S = 120  # per cell; each notebook is meant to run in well under a minute in all


def _kernel_manager(where: Path):
    """A kernel running *this* interpreter (the project's virtualenv), whatever is installed elsewhere.

    The kernelspec is written into a folder of the test's own, so neither a user-wide
    ``python3`` kernel nor a missing one in the virtualenv can change which Python runs.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = where / "kernels" / "frugal-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "frugal tests", "language": "python",
    }))
    specs = KernelSpecManager(kernel_dirs=[str(where / "kernels")])
    # Unix sockets in the scratch folder rather than TCP ports on loopback
    return KernelManager(kernel_name="frugal-test", kernel_spec_manager=specs, transport="ipc",
                         ip=str(where / "kernel"))


def test_there_is_a_notebook() -> None:
    """The project ships at least one worked example notebook."""
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


def test_notebooks_are_committed_without_outputs() -> None:
    """Notebooks are stored without outputs, so the repository keeps no stale figures."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebook runs in a fresh kernel of this Python, in a scratch folder, with no cell failing."""
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in [k for k in os.environ if k.startswith("FRUGAL_")]:  # a developer's own settings
        monkeypatch.delenv(name)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, km=_kernel_manager(tmp_path), timeout=TIMEOUT_S,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell that broke
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    if "frugal.report(" in "".join(c.source for c in nb.cells):
        assert (tmp_path / "dashboard.html").stat().st_size > 0
