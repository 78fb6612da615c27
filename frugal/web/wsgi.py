"""``WSGIMiddleware``: each request one region, charged its own thread's CPU (scope "thread").

A threaded server runs each request on one thread from the call to the body's ``close()``
(PEP 3333): the region spans both, so a streamed body is measured until it is exhausted or
closed. The route is read when the response starts, while the framework still holds the
request: Flask's (werkzeug's) request stands in ``environ["werkzeug.request"]`` until then.
"""
from __future__ import annotations

import threading
import warnings

from frugal.core.span import measurement_failed, start, stop
from frugal.errors import raised_by_signal_handler
from frugal.web.common import Specs, check_name, region_name, server_error, skip_test

TYPE_CHECKING = False   # typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

    from frugal.core.span import State

    Environ = dict[str, Any]
    StartResponse = Callable[..., Callable[[bytes], object]]
    WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_get_ident = threading.get_ident
_warned_thread = False


def route_name(environ: Environ) -> str:
    """``"METHOD rule"``: werkzeug's (Flask's) matched URL rule under ``SCRIPT_NAME``, else
    ``"METHOD path"``."""
    method = environ.get("REQUEST_METHOD") or "GET"
    root = environ.get("SCRIPT_NAME") or ""
    rule = getattr(getattr(environ.get("werkzeug.request"), "url_rule", None), "rule", None)
    if isinstance(rule, str) and rule:
        return f"{method} {root}{rule}"
    return f"{method} {root}{environ.get('PATH_INFO', '')}"


class WSGIMiddleware:
    """Measure every request of a WSGI app: ``app.wsgi_app = WSGIMiddleware(app.wsgi_app)``.

    ``skip``: paths (``PATH_INFO``) not measured, a collection of exact paths or a
    ``callable(path) -> bool``. ``name``: ``callable(environ) -> str``, called when the response
    starts, instead of the rule's ``"METHOD rule"``. A failure of frugal's bookkeeping, or of
    ``name``, is a warning: the request goes on unchanged.
    """

    __slots__ = ("app", "_skip", "_name", "_specs")

    def __init__(self, app: WSGIApp, *, skip: Any = (), name: Callable[[Environ], str] | None = None) -> None:
        if not callable(app):
            raise TypeError(f"WSGIMiddleware(app) needs a WSGI application, got {type(app).__name__}")
        self.app = app
        self._skip = skip_test(skip, "WSGIMiddleware")
        self._name = check_name(name, "WSGIMiddleware")
        self._specs = Specs("thread", False)

    def region_name(self, environ: Environ) -> str:
        return region_name(self._name, environ, route_name, "WSGIMiddleware")

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if self._skip(environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)
        request = _Request(self, environ, start(self._specs(f"{environ.get('REQUEST_METHOD') or 'GET'} (routing)")))

        def measured_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            request.responded(status)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, measured_start_response)
        except BaseException as exc:
            request.finish(exc)
            raise
        return _Body(body, request)


class _Request:
    """One request's open region, its name and status, until its body is closed."""

    __slots__ = ("owner", "environ", "state", "name", "status", "ident", "done")

    def __init__(self, owner: WSGIMiddleware, environ: Environ, state: State | None) -> None:
        self.owner, self.environ, self.state = owner, environ, state
        self.name: str | None = None
        self.status = 0
        self.ident = _get_ident()
        self.done = state is None

    def responded(self, status: str) -> None:
        """The response starts: the app has routed; regions opened from now on name it as parent."""
        try:
            self.status = int(status.split(None, 1)[0]) if isinstance(status, str) else 0
        except ValueError:
            self.status = 0
        if self.name is not None or self.done:
            return
        try:
            self.name = self.owner.region_name(self.environ)
            assert self.state is not None
            ref = self.state[1]
            if ref is not None:
                ref.name_id = self.owner._specs(self.name).name_id
        except Exception as failure:
            if raised_by_signal_handler(failure):
                raise
            measurement_failed("name", failure)

    def finish(self, exc: BaseException | None) -> None:
        if self.done:
            return
        self.done = True
        if _get_ident() != self.ident:
            _other_thread()
            return
        try:
            if exc is None and self.status >= 500:
                exc = server_error(self.status)
            name = self.name or self.owner.region_name(self.environ)
            stop(self.owner._specs(name), self.state, exc, None)
        except Exception as failure:
            if raised_by_signal_handler(failure):
                raise
            measurement_failed("finish", failure)


def _other_thread() -> None:
    """A body closed on another thread than the call's: its thread CPU cannot be read."""
    global _warned_thread
    if not _warned_thread:
        _warned_thread = True
        warnings.warn("frugal: a WSGI response was closed on another thread than the one that called the app; "
                      "its thread CPU cannot be measured and the request is not recorded", RuntimeWarning,
                      stacklevel=3)


class _Body:
    """The app's body, passed through; the region ends once the body is exhausted or closed,
    whichever comes first (PEP 3333 servers always close it; a test client may only read it)."""

    __slots__ = ("_body", "_request")

    def __init__(self, body: Iterable[bytes], request: _Request) -> None:
        self._body, self._request = body, request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        except GeneratorExit:       # the server stopped reading: close() ends the region
            raise
        except BaseException as exc:
            self._request.finish(exc)
            raise
        self._request.finish(None)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        try:
            if close is not None:
                close()
        except BaseException as exc:
            self._request.finish(exc)
            raise
        self._request.finish(None)

    def __del__(self) -> None:
        # Dropped unread and unclosed (a test client's response nobody read): the request ends
        # here rather than never being recorded.
        self._request.finish(None)
