"""Per-request footprints in services: ``ASGIMiddleware`` and ``WSGIMiddleware``.

Each request is one measured region named ``"METHOD route"`` (the framework's route template:
``GET /items/{item_id}``, never ``/items/42``), with ``status="error"`` for a 5xx response or an
exception. Plain ASGI and WSGI: no dependency, nothing of a framework is imported.
"""
from __future__ import annotations

from frugal.web.asgi import ASGIMiddleware
from frugal.web.common import ServerError
from frugal.web.wsgi import WSGIMiddleware

__all__ = ["ASGIMiddleware", "ServerError", "WSGIMiddleware"]
