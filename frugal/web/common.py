"""What both middlewares share: the argument checks, the skip test, the specs per name and the
error recorded for a 5xx response."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Collection

from frugal.core.span import Spec
from frugal.errors import raised_by_signal_handler
from frugal.validate import check_text

TYPE_CHECKING = False   # typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

# A service may see unbounded paths (404s from scanners); its specs are cached up to here, then
# made per request (the log interns the name either way).
_MAX_SPECS = 10_000


class ServerError(Exception):
    """A 5xx response, recorded as the region's error (never raised): ``error`` is ``HTTP503``..."""


_status_errors: dict[int, type[ServerError]] = {}


def server_error(status: int) -> ServerError:
    """The error a response of ``status`` (5xx) records: an instance of ``HTTP<status>``."""
    kind = _status_errors.get(status)
    if kind is None:
        kind = _status_errors[status] = type(f"HTTP{status}", (ServerError,), {"__module__": __name__})
    return kind(f"the response had status {status}")


def skip_test(skip: Any, owner: str) -> Callable[[str], bool]:
    """``skip``: paths not measured, as a collection of exact paths or a callable(path) -> bool."""
    if callable(skip):
        return skip  # type: ignore[no-any-return]
    if isinstance(skip, str) or not isinstance(skip, Collection):
        raise TypeError(f"{owner}(skip=...) must be a collection of paths or a callable(path) -> bool, "
                        f"got {type(skip).__name__}")
    paths = frozenset(skip)
    for path in paths:
        check_text(f"{owner}(skip=...) items", path)
    return paths.__contains__


def check_name(name: Any, owner: str) -> Any:
    if name is not None and not callable(name):
        raise TypeError(f"{owner}(name=...) must be a callable or None, got {type(name).__name__}")
    return name


class Specs:
    """One ``Spec`` per region name, made once (the hot path validates nothing)."""

    __slots__ = ("_specs", "_scope", "_task")

    def __init__(self, scope: str, task: bool) -> None:
        self._specs: dict[str, Spec] = {}
        self._scope, self._task = scope, task

    def __call__(self, name: str) -> Spec:
        spec = self._specs.get(name)
        if spec is None:
            spec = Spec(name, None, self._scope, False, "calls", task=self._task)
            if len(self._specs) < _MAX_SPECS:
                self._specs[name] = spec
        return spec


_warned: set[str] = set()


def region_name(name: Callable[[Any], str] | None, request: Any, route: Callable[[Any], str], owner: str) -> str:
    """``name(request)``, the user's name for a request, when given and a non-empty str; else
    ``route(request)`` (a failure of ``name`` is a warning: ``name_failed``)."""
    if name is not None:
        try:
            named = name(request)
            if isinstance(named, str) and named:
                return named
            raise TypeError(f"it returned {named!r}, not a non-empty str")
        except Exception as exc:
            name_failed(owner, exc)
    return route(request)


def name_failed(owner: str, exc: Exception) -> None:
    """The user's name function raised: the request goes on, named by default, said once."""
    if raised_by_signal_handler(exc):
        raise exc
    key = f"{owner}:{type(exc).__name__}"
    if key not in _warned:
        _warned.add(key)
        warnings.warn(f"frugal: {owner}(name=...) raised {type(exc).__name__}: {exc}; the request is named "
                      "by its route instead", RuntimeWarning, stacklevel=3)
