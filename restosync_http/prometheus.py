"""The API's part of the Prometheus metrics: every request counted by route template, rows pushed by outcome.

The counting itself is ``restosync_adapters.prometheus`` (where to: ``create_app``
calls ``use_metrics_dir`` with ``METRICS_DIR``); here is what the HTTP shell knows:
the request's route template (Litestar's ``path_template``, set on the scope once a
route matched) and the answer of a push. ``observe_request`` is called by the request
middleware once per answered request; ``count_ingested_rows`` is the ingest
controller's ``after_request`` hook.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from litestar import Response
from litestar.types import Scope

from restosync_adapters.prometheus import count_rows, record_request
from restosync_http.dto.ingest import IngestResponse, ItemResult, StockResult, WarehouseResult

log = logging.getLogger(__name__)

ENTITY_OF: dict[type, str] = {ItemResult: "items", StockResult: "stock", WarehouseResult: "warehouses"}


def observe_request(scope: Scope, status: int, started: float) -> None:
    """Count one answered request (``started``: its ``time.perf_counter()`` on arrival). Never raises."""
    try:
        method, route = str(scope.get("method", "OTHER")), scope.get("path_template") or None
        record_request(method, route, status, time.perf_counter() - started)
    except Exception:  # metrics must never fail a request, nor hide its own error
        log.exception("could not record the request's metrics")


async def count_ingested_rows(response: Response[Any]) -> Response[Any]:
    """``after_request`` of the push routes: count the answer's rows by entity, status and reason."""
    answer = response.content
    if isinstance(answer, IngestResponse) and answer.results:
        entity = ENTITY_OF.get(type(answer.results[0]))
        if entity is not None:
            counts = Counter((str(row.status), row.reason or "") for row in answer.results)
            count_rows(entity, counts)
    return response
