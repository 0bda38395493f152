"""Every route handler the API serves; each area adds its controllers here."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from restosync_http.controllers.agents import AdminAgentsController, AgentController
from restosync_http.controllers.callback import CallbackController
from restosync_http.controllers.circuit_breaker import CircuitBreakerController
from restosync_http.controllers.dlq import DeadLetterController
from restosync_http.controllers.health import HealthController
from restosync_http.controllers.ingest import IngestController
from restosync_http.controllers.mappings import MappingsController
from restosync_http.controllers.metrics import MetricsController
from restosync_http.controllers.orders import OrdersController
from restosync_http.controllers.prometheus import PrometheusController
from restosync_http.controllers.reconciliation import ReconciliationController
from restosync_http.controllers.sync_jobs import SyncJobsController

ROUTES: list[ControllerRouterHandler] = [
    HealthController,
    AgentController, AdminAgentsController,
    IngestController,
    MappingsController,
    OrdersController, CallbackController, SyncJobsController, DeadLetterController, CircuitBreakerController,
    ReconciliationController, MetricsController,
    PrometheusController,
]
