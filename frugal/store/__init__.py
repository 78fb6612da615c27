"""The store: every measurement, appended in columnar chunks to one SQLite file, off the measured call.

This is its face. The database file is ``frugal.store.sqlite``, the process's default store
(one writer thread, switched by the ``store`` setting) ``frugal.store.default``, the writer
``frugal.store.writer``, a run's metadata ``frugal.store.run_info``, the column encoding
``frugal.store.chunks``; reading back (``load``, ``load_runs``: numpy and pandas are imported
then, not with this package) is ``frugal.store.read``; the union of stores by run id
(``frugal merge``) is ``frugal.store.merge.merge``.
"""
from frugal.files import APPLICATION_ID, RUN_COLUMNS, RUN_FIELDS, SCHEMA_VERSION, is_store
from frugal.store.default import default_store, flush, set_default_store
from frugal.store.run_info import git_info, new_run, settings_json
from frugal.store.sqlite import BUSY_TIMEOUT_S, CHUNK_ROWS, Store, storable_text
from frugal.store.writer import (
    EXIT_TIMEOUT_S, FLUSH_EVERY_S, FLUSH_ROWS, MAX_ROWS_IN_MEMORY, POLL_S, SUMMARY_EVERY_S, Writer,
)

TYPE_CHECKING = False   # typing is not imported at run time
if TYPE_CHECKING:
    from frugal.store.read import load, load_runs

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT_S", "CHUNK_ROWS", "EXIT_TIMEOUT_S", "FLUSH_EVERY_S", "FLUSH_ROWS",
           "MAX_ROWS_IN_MEMORY", "POLL_S", "RUN_COLUMNS", "RUN_FIELDS", "SCHEMA_VERSION", "SUMMARY_EVERY_S",
           "Store", "Writer", "default_store", "flush", "git_info", "is_store", "load", "load_runs",
           "new_run", "set_default_store", "settings_json", "storable_text"]


def __getattr__(name: str) -> object:
    if name in ("load", "load_runs"):
        from frugal.store import read

        return getattr(read, name)
    raise AttributeError(f"module 'frugal.store' has no attribute {name!r}")
