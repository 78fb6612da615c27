"""The store: every measurement, appended in columnar chunks to one SQLite file, off the measured call.

This is its face. The database file is ``frugal.store.sqlite``, the process's default store
(one writer thread, switched by the ``store`` setting) ``frugal.store.default``, the writer
``frugal.store.writer``, a run's metadata ``frugal.store.run_info``, the column encoding
``frugal.store.chunks``; reading back (``load``, ``load_runs``: numpy and pandas are imported
then, not with this package) is ``frugal.store.read``; the union of stores by run id
(``frugal merge``) is ``frugal.store.merge.merge``.
"""
from frugal.files import APPLICATION_ID, RUN_COLUMNS, RUN_FIELDS, SCHEMA_VERSION, is_store

TYPE_CHECKING = False   # typing is not imported at run time
if TYPE_CHECKING:
    from frugal.store.default import default_store, flush, set_default_store
    from frugal.store.read import load, load_runs
    from frugal.store.run_info import git_info, new_run, settings_json
    from frugal.store.sqlite import BUSY_TIMEOUT_S, CHUNK_ROWS, Store, storable_text
    from frugal.store.writer import (
        EXIT_TIMEOUT_S, FLUSH_EVERY_S, FLUSH_ROWS, MAX_ROWS_IN_MEMORY, POLL_S, SUMMARY_EVERY_S, Writer,
    )

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT_S", "CHUNK_ROWS", "EXIT_TIMEOUT_S", "FLUSH_EVERY_S", "FLUSH_ROWS",
           "MAX_ROWS_IN_MEMORY", "POLL_S", "RUN_COLUMNS", "RUN_FIELDS", "SCHEMA_VERSION", "SUMMARY_EVERY_S",
           "Store", "Writer", "default_store", "flush", "git_info", "is_store", "load", "load_runs",
           "new_run", "set_default_store", "settings_json", "storable_text"]

# Each name's module, imported on first use: a submodule (``frugal.store.location``, which
# ``frugal run`` opens its store with) runs this file first, and the default store's module
# alone imports multiprocessing, the writer and the PostgreSQL client (about 20 ms).
_LAZY = {
    **dict.fromkeys(("default_store", "flush", "set_default_store"), "default"),
    **dict.fromkeys(("load", "load_runs"), "read"),
    **dict.fromkeys(("git_info", "new_run", "settings_json"), "run_info"),
    **dict.fromkeys(("BUSY_TIMEOUT_S", "CHUNK_ROWS", "Store", "storable_text"), "sqlite"),
    **dict.fromkeys(("EXIT_TIMEOUT_S", "FLUSH_EVERY_S", "FLUSH_ROWS", "MAX_ROWS_IN_MEMORY", "POLL_S",
                     "SUMMARY_EVERY_S", "Writer"), "writer"),
}
_SUBMODULES = ("chunks", "default", "location", "merge", "plain", "postgres", "read", "run_info", "sqlite",
               "writer")


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f"frugal.store.{_LAZY[name]}"), name)
    if name in _SUBMODULES:     # ``store.default`` after ``from frugal import store``, as before
        return importlib.import_module(f"frugal.store.{name}")
    raise AttributeError(f"module 'frugal.store' has no attribute {name!r}")
