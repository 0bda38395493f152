"""``GET /health``: every subsystem's state; 503 naming the parts that are down."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State

from restosync_adapters.bootstrap import Services


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        "/",
        operation_id="getHealth",
        summary="Health of the database, Redis, queues, agents, memory and disk",
        description="200 when every required subsystem is up; 503 naming the failing ones otherwise.",
        cache=False,
    )
    async def health(self, state: State) -> Response[dict[str, Any]]:
        services: Services = state.services
        report = await services.report_health()
        info: dict[str, Any] = {}
        error: dict[str, Any] = {}
        for name, result in report.results.items():
            entry: dict[str, Any] = {"status": "up" if result.up else "down", **result.details}
            if result.error:
                entry["message"] = result.error
            (info if result.up else error)[name] = entry
        body: dict[str, Any] = {
            "status": "ok" if report.ok else "error",
            "info": info,
            "error": error,
            "details": {**info, **error},
        }
        if not report.ok:
            body["failing"] = report.failing
        return Response(body, status_code=200 if report.ok else 503)
