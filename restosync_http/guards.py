"""Guards: who may call what. Plain functions, as Litestar wants them."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from restosync_adapters.bootstrap import Services
from restosync_core.errors import Unauthenticated

API_KEY_HEADER = "x-api-key"


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    services: Services = connection.app.state.services
    return services


def api_key_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admin routes: ``X-API-Key`` equal to ``API_SECRET``, compared in constant time.

    A missing key and a wrong key get the same 401 body.
    """
    expected = services_of(connection).settings.api_secret.encode("utf-8")
    given = connection.headers.get(API_KEY_HEADER, "").encode("utf-8")
    if not hmac.compare_digest(given, expected):
        raise Unauthenticated("a valid X-API-Key header is required")
