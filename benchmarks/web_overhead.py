"""What frugal.web's middlewares add per request: a trivial endpoint called in-process by a
minimal driver (no network noise), with and without the middleware, alternated, median of the
per-request differences. Target (issue 31): at most 20 us per request at the median.

Then, without frugal, the CPU one Flask request costs its thread, called back to back and each
after a 30 ms pause (as a request that sleeps 30 ms resumes): what a /sleep request is charged
under a real WSGI server is mostly this, its own work run on cold caches.

    python benchmarks/web_overhead.py
"""
from __future__ import annotations

import asyncio
import statistics
import time

import frugal
from frugal.web import ASGIMiddleware, WSGIMiddleware

TARGET_US = 20.0
ROUNDS, PER_ROUND = 41, 2000


async def asgi_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok", "more_body": False})


def wsgi_app(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]


async def _receive():
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message):
    pass


def asgi_round(app) -> float:
    """ns per request over PER_ROUND requests on one loop."""
    scope = {"type": "http", "method": "GET", "path": "/", "root_path": "", "headers": []}

    async def many() -> int:
        t0 = time.perf_counter_ns()
        for _ in range(PER_ROUND):
            await app(dict(scope), _receive, _send)
        return time.perf_counter_ns() - t0
    return asyncio.run(many()) / PER_ROUND


def wsgi_round(app) -> float:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": ""}
    start_response = lambda status, headers, exc_info=None: None  # noqa: E731
    t0 = time.perf_counter_ns()
    for _ in range(PER_ROUND):
        body = app(dict(environ), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.perf_counter_ns() - t0) / PER_ROUND


def added(kind: str, round_fn, plain, wrapped) -> tuple[float, float, float]:
    """(median ns without, median ns with, median added ns), rounds alternated."""
    without, with_, diffs = [], [], []
    for i in range(ROUNDS):
        order = (plain, wrapped) if i % 2 else (wrapped, plain)
        got = {id(app): round_fn(app) for app in order}
        without.append(got[id(plain)])
        with_.append(got[id(wrapped)])
        diffs.append(got[id(wrapped)] - got[id(plain)])
        frugal.clear()      # the log's growth is not what is measured
    return statistics.median(without), statistics.median(with_), statistics.median(diffs)


def flask_request_cpu(pause_s: float, n: int = 50, measured: bool = False) -> float | None:
    """Median thread CPU (ns) of one Flask request, each after pause_s of sleep; measured: behind
    WSGIMiddleware."""
    try:
        from flask import Flask
    except ImportError:
        return None
    app = Flask("bench")
    app.get("/")(lambda: "ok")
    if measured:
        app.wsgi_app = WSGIMiddleware(app.wsgi_app)    # type: ignore[method-assign]
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "QUERY_STRING": ""}
    costs = []
    for _ in range(n):
        if pause_s:
            time.sleep(pause_s)
        t0 = time.thread_time_ns()
        body = app.wsgi_app(dict(environ), lambda status, headers, exc_info=None: None)
        for _chunk in body:
            pass
        body.close()
        costs.append(time.thread_time_ns() - t0)
    return statistics.median(costs)


def main() -> None:
    print(f"frugal.web overhead: trivial endpoint, in-process driver, {ROUNDS} alternated rounds of {PER_ROUND}")
    for kind, round_fn, plain, wrapped in (("ASGI", asgi_round, asgi_app, ASGIMiddleware(asgi_app)),
                                           ("WSGI", wsgi_round, wsgi_app, WSGIMiddleware(wsgi_app))):
        round_fn(plain), round_fn(wrapped)     # warm-up
        base, measured, diff = added(kind, round_fn, plain, wrapped)
        verdict = "ok" if diff / 1e3 <= TARGET_US else "OVER TARGET"
        print(f"  {kind}: without {base / 1e3:6.2f} us, with {measured / 1e3:6.2f} us, "
              f"added {diff / 1e3:6.2f} us per request (target <= {TARGET_US:.0f} us): {verdict}")
    hot, cold = flask_request_cpu(0.0), flask_request_cpu(0.03)
    if hot is None or cold is None:
        print("  a Flask request's own CPU: skipped (Flask is not installed)")
    else:
        print(f"  a Flask request's own CPU, without frugal: {hot / 1e3:.0f} us back to back, "
              f"{cold / 1e3:.0f} us after a 30 ms pause ({cold / hot:.1f}x); behind the middleware "
              f"after the same pause: {flask_request_cpu(0.03, measured=True) / 1e3:.0f} us")  # type: ignore[operator]


if __name__ == "__main__":
    main()
