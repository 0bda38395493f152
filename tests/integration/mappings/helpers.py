"""Helpers for mapping integration tests: admin headers and running coroutines on an app's own loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar.testing import TestClient

from restosync_adapters.settings import Settings

T = TypeVar("T")


def admin(settings: Settings) -> dict[str, str]:
    return {"X-API-Key": settings.api_secret}


def on_app_loop(client: TestClient, fn: Callable[..., Awaitable[T]], *args: Any) -> T:  # type: ignore[type-arg]
    """Run ``fn(*args)`` on the event loop the app (and its pools) live on."""
    return client.blocking_portal.call(fn, *args)


def mapping(erp_code: str = "KG", resto_code: str = "kilogram", **fields: Any) -> dict[str, Any]:
    body = {
        "vendorId": "vendor-1",
        "mappingType": "unit",
        "erpCode": erp_code,
        "restoCode": resto_code,
        "restoLabel": "Kilogramme",
        "isActive": True,
    }
    body.update(fields)
    return body
