"""The Litestar app factory: takes a process's services (real or fake) and answers HTTP."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.types import ControllerRouterHandler, Receive, Scope, Send

from restosync_adapters.bootstrap import Services
from restosync_adapters.prometheus import use_metrics_dir
from restosync_http.dto.base import RawJsonPlugin
from restosync_http.errors import EXCEPTION_HANDLERS
from restosync_http.middleware import with_request_context
from restosync_http.openapi import finish_openapi
from restosync_http.rate_limit import RateLimitMiddleware
from restosync_http.routes import ROUTES

MAX_BODY_BYTES = 10 * 1024 * 1024
"""The largest body any route accepts (batch ingest, 10 MB); smaller routes set their own."""


class RestosyncApp(Litestar):
    """Litestar, with request ids and security headers on every answer, errors included."""

    @cached_property
    def allowed_methods(self) -> dict[str, str]:
        """Every path template's methods, as an ``Allow`` header lists them (the routes are final by now)."""
        return {
            route.path_format: ", ".join(sorted(route.methods))
            for route in self.routes if isinstance(route, HTTPRoute)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        await with_request_context(scope, receive, send, super().__call__, self.cors_config, self.allowed_methods)


def _openapi(enabled: bool) -> OpenAPIConfig | None:
    if not enabled:
        return None
    return OpenAPIConfig(
        title="restosync",
        version="0.1.0",
        description="ERP synchronisation for RestoMarket: agents push catalogue data, orders flow to ERPs.",
        path="/schema",
        render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
        components=Components(
            security_schemes={
                "AgentBearer": SecurityScheme(type="http", scheme="bearer", description="agent token + X-Vendor-ID"),
                "ApiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header"),
                "MetricsBearer": SecurityScheme(type="http", scheme="bearer", description="METRICS_TOKEN (/metrics)"),
            }
        ),
    )


def create_app(
    services: Services,
    *,
    manage_services: bool = True,
    extra_routes: list[ControllerRouterHandler] | None = None,
) -> Litestar:
    """Build the API around ``services``; with ``manage_services`` the app starts and stops them.

    ``extra_routes`` lets tests mount routes of their own beside the real ones.
    """
    settings = services.settings
    use_metrics_dir(settings.metrics_dir)  # where this process records its Prometheus metrics

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if manage_services:
            await services.start()
            if settings.env != "test":
                # Start-up objects live as long as the process: keep them out of every full
                # collection, which otherwise costs tens of ms in the middle of a large push.
                gc.collect()
                gc.freeze()
        try:
            yield
        finally:
            if manage_services:
                await services.stop()

    cors = CORSConfig(
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Content-Type", "Authorization", "X-API-Key", "X-Correlation-ID", "X-Vendor-ID", "X-Request-ID"],
        expose_headers=["X-Request-ID", "X-Correlation-ID", "Retry-After"],
        allow_credentials=True,
        max_age=86400,
    )
    app = RestosyncApp(
        route_handlers=[*ROUTES, *(extra_routes or [])],
        state=State({"services": services}),
        lifespan=[lifespan],
        cors_config=cors,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=_openapi(settings.swagger_enabled),
        request_max_body_size=MAX_BODY_BYTES,
        middleware=[RateLimitMiddleware],
        plugins=[RawJsonPlugin()],
        return_dto=None,  # answers are msgspec structs, encoded as they are
        logging_config=None,
        debug=False,
    )
    if app.openapi_config is not None:
        finish_openapi(app)  # every status, problem+json errors, closed bodies (restosync_http/openapi.py)
    return app
