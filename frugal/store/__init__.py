"""The store: every measurement, appended in columnar chunks to one SQLite file, off the measured call.

This is its face. The database file is ``frugal.store.sqlite``, the process's default store
(one writer thread, switched by the ``store`` setting) ``frugal.store.default``, the writer
``frugal.store.writer``, a run's metadata ``frugal.store.run_info``, the column encoding
``frugal.store.chunks``; reading back (``load``, ``load_runs``: numpy and pandas are imported
then, not with this package) is ``frugal.store.read``; the union of stores by run id
(``frugal merge``) is ``frugal.store.merge.merge``.
"""
from frugal.files import APPLICATION_ID, RUN_COLUMNS, RUN_FIELDS, SCHEMA_VERSION, is_store
from frugal.store.run_info import git_info, new_run, settings_json

TYPE_CHECKING = False   # typing is not imported at run time
if TYPE_CHECKING:
    from frugal.store.default import default_store, flush, set_default_store
    from frugal.store.read import load, load_runs
    from frugal.store.sqlite import BUSY_TIMEOUT_S, CHUNK_ROWS, Store, storable_text
    from frugal.store.writer import (
        EXIT_TIMEOUT_S, FLUSH_EVERY_S, FLUSH_ROWS, MAX_ROWS_IN_MEMORY, POLL_S, SUMMARY_EVERY_S, Writer,
    )

# Names resolved on first use (PEP 562): the process's writer (``default``, with multiprocessing
# and its exit hooks) is not loaded by a command that only appends to a store (``frugal run``),
# and reading back imports numpy and pandas.
_LAZY = {
    "default_store": "frugal.store.default", "flush": "frugal.store.default",
    "set_default_store": "frugal.store.default",
    "load": "frugal.store.read", "load_runs": "frugal.store.read",
    "BUSY_TIMEOUT_S": "frugal.store.sqlite", "CHUNK_ROWS": "frugal.store.sqlite", "Store": "frugal.store.sqlite",
    "storable_text": "frugal.store.sqlite",
    **dict.fromkeys(("EXIT_TIMEOUT_S", "FLUSH_EVERY_S", "FLUSH_ROWS", "MAX_ROWS_IN_MEMORY", "POLL_S",
                     "SUMMARY_EVERY_S", "Writer"), "frugal.store.writer"),
}

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT_S", "CHUNK_ROWS", "EXIT_TIMEOUT_S", "FLUSH_EVERY_S", "FLUSH_ROWS",
           "MAX_ROWS_IN_MEMORY", "POLL_S", "RUN_COLUMNS", "RUN_FIELDS", "SCHEMA_VERSION", "SUMMARY_EVERY_S",
           "Store", "Writer", "default_store", "flush", "git_info", "is_store", "load", "load_runs",
           "new_run", "set_default_store", "settings_json", "storable_text"]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'frugal.store' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
