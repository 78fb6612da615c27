"""Starts frugal's no-network test guard in every Python process the tests start.

``tests/conftest.py`` puts this folder first on ``PYTHONPATH`` and names the report file in
``TESTS_NETWORK_GUARD_LOG``; Python imports ``sitecustomize`` at start-up, so each child
(subprocesses, multiprocessing and Dask workers, Jupyter kernels, the ``frugal`` command)
refuses non-loopback network use and reports it there. A ``sitecustomize`` this one shadows
still runs afterwards.
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_log = os.environ.get("TESTS_NETWORK_GUARD_LOG")
if _log:
    import frugal_netguard

    frugal_netguard.install(frugal_netguard.file_recorder(_log))


def _run_shadowed() -> None:
    import importlib.machinery
    import importlib.util

    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_run_shadowed()
