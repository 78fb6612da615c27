"""Which store a ``store=`` setting, ``FRUGAL_STORE``, ``--store`` or a reader's argument names: a
SQLite file (``frugal.store.sqlite``) or a PostgreSQL server (``frugal.store.postgres``), opened
through one function so that no URL is ever taken for a file path."""
from __future__ import annotations

import os

from frugal.files import store_location
from frugal.store.sqlite import Store

TYPE_CHECKING = False   # typing is not imported at run time (start-up of ``frugal run``)
if TYPE_CHECKING:
    from typing import Any, Union

    from frugal.store.postgres import PgStore

    AnyStore = Union[Store, PgStore]     # for annotations only: import it under TYPE_CHECKING


def open_store(value: str | os.PathLike[str] | Any, argument: str = "store") -> AnyStore:
    """The store ``value`` names, not yet opened: a ``postgresql://`` URL's server, else a
    SQLite file. Another URL scheme is a ``ValueError`` naming ``argument``; bad input a
    ``TypeError``/``ValueError`` naming it."""
    where = store_location(value, argument)
    if isinstance(where, str):
        from frugal.store.postgres import PgStore

        return PgStore(where)
    return Store(where)
