"""frugal type-checks: mypy, with the configuration of pyproject.toml ([tool.mypy], strict)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow   # mypy over the whole package: not in the quick tier

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_error() -> None:
    """mypy --strict (as configured) passes over the whole package, which ships py.typed."""
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    assert (ROOT / "frugal" / "py.typed").is_file()
    proc = subprocess.run([sys.executable, "-m", "mypy", "frugal"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
