"""``ASGIMiddleware``: each HTTP request one region, charged its own coroutine's CPU (scope "task").

The request's coroutine is driven one step at a time, as ``@frugal.measure`` drives an ``async
def``: a request that awaits is not charged for the requests that ran meanwhile. The region
ends when the app returns, which is after its last ``http.response.body`` chunk: a streamed
response is measured to its end. CPU spent in other tasks the app starts (Starlette's
``StreamingResponse`` iterates its body in one when the server speaks ASGI below 2.4) is not
the request's coroutine's and is not charged to it.
"""
from __future__ import annotations

from frugal.core.measure import _steps
from frugal.core.span import measurement_failed, start, stop
from frugal.errors import raised_by_signal_handler
from frugal.web.common import Specs, check_name, region_name, server_error, skip_test

TYPE_CHECKING = False   # typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping
    from typing import Any

    from frugal.core.span import State

    Scope = MutableMapping[str, Any]
    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]


def route_name(scope: Scope) -> str:
    """``"METHOD template"``: the route the app matched (Starlette and FastAPI leave it in
    ``scope["route"]``, under the prefix of the ``Mount``s it lies in), else ``"METHOD path"``."""
    method = scope.get("method") or "GET"
    template = getattr(scope.get("route"), "path", None)
    if isinstance(template, str) and template:
        root = scope.get("root_path") or ""
        app_root = scope.get("app_root_path", root) or ""
        prefix = root[len(app_root):] if isinstance(root, str) and isinstance(app_root, str) \
            and root.startswith(app_root) else ""
        return f"{method} {prefix}{template}"
    return f"{method} {scope.get('path', '')}"


class ASGIMiddleware:
    """Measure every HTTP request of an ASGI app: ``app = ASGIMiddleware(app)``.

    ``skip``: paths not measured (health checks), a collection of exact paths or a
    ``callable(path) -> bool``. ``name``: ``callable(scope) -> str``, called once the response
    starts (the app has routed then), instead of the route's ``"METHOD template"``. Lifespan and
    websocket scopes pass through unmeasured. A failure of frugal's bookkeeping, or of ``name``,
    is a warning: the request goes on unchanged. Regions measured inside a handler before its
    response starts name their parent ``"METHOD (routing)"``: the route is not known earlier.
    """

    __slots__ = ("app", "_skip", "_name", "_specs")

    def __init__(self, app: Callable[..., Awaitable[None]], *, skip: Any = (),
                 name: Callable[[Scope], str] | None = None) -> None:
        if not callable(app):
            raise TypeError(f"ASGIMiddleware(app) needs an ASGI application, got {type(app).__name__}")
        self.app = app
        self._skip = skip_test(skip, "ASGIMiddleware")
        self._name = check_name(name, "ASGIMiddleware")
        self._specs = Specs("task", True)

    def _region_name(self, scope: Scope) -> str:
        return region_name(self._name, scope, route_name, "ASGIMiddleware")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or self._skip(scope.get("path", "")):
            return await self.app(scope, receive, send)
        state = start(self._specs(f"{scope.get('method') or 'GET'} (routing)"))
        status = 0
        name: str | None = None

        async def measured_send(message: Message) -> None:
            nonlocal status, name
            if message.get("type") == "http.response.start" and name is None:
                status = message.get("status") or 0
                name = self._named(scope, state)
            await send(message)

        acc = [0]
        try:
            await _steps(self.app(scope, receive, measured_send).__await__(), acc)
        except BaseException as exc:
            self._finish(scope, state, name, exc, acc[0])
            raise
        error = server_error(status) if isinstance(status, int) and status >= 500 else None
        self._finish(scope, state, name, error, acc[0])

    def _named(self, scope: Scope, state: State | None) -> str | None:
        """The request's name, now that the app has routed; regions opened in the handler from
        now on name it as their parent. None if frugal failed (then named at the end)."""
        try:
            name = self._region_name(scope)
            ref = state[1] if state is not None else None
            if ref is not None:
                ref.name_id = self._specs(name).name_id
            return name
        except Exception as failure:
            if raised_by_signal_handler(failure):
                raise
            measurement_failed("name", failure)
            return None

    def _finish(self, scope: Scope, state: State | None, name: str | None, exc: BaseException | None,
                cpu_ns: int) -> None:
        if state is None:
            return
        try:
            stop(self._specs(name or self._region_name(scope)), state, exc, None, cpu_ns=cpu_ns)
        except Exception as failure:
            if raised_by_signal_handler(failure):
                raise
            measurement_failed("finish", failure)
