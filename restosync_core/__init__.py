"""restosync's core: what the business is, in the standard library only.

Domain types live in ``model``, the ports the core needs from the outside world
in ``ports``, pure decisions in ``policies`` and one use case per module in
``use_cases``. Nothing here opens a connection or reads the environment.

Used as a library (docs/library.md), everything a caller needs is importable
from here: the use cases, the ports to implement, the model types they take and
answer, and the error tree.
"""

from restosync_core.errors import (
    AgentRefused,
    AgentUnavailable,
    CircuitOpen,
    ClientError,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RestosyncError,
    TransientError,
    Unauthenticated,
    ValidationFailed,
)
from restosync_core.model.agents import Agent, AgentEndpoint, AgentStatus, OutboundCredential
from restosync_core.model.audit import NO_REQUEST, AuditEntry, RequestContext
from restosync_core.model.catalog import Item, StockLevel, Warehouse
from restosync_core.model.delivery import (
    BreakerKey,
    BreakerState,
    BreakerStatus,
    DeliveryOutcome,
    NewOrder,
    NewOrderLine,
    PlacedOrder,
    SyncJobFilter,
)
from restosync_core.model.ids import AgentId, DeadLetterId, MappingId, OrderId, SyncJobId, VendorId
from restosync_core.model.ingest import IngestReport, RowReason, RowStatus, StoredVersion
from restosync_core.model.mappings import Mapping, MappingResult, MappingType, NewMapping
from restosync_core.model.orders import DeadLetter, Order, OrderLine, OrderStatus, SyncJob, SyncJobStatus
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.policies.breaker import BreakerPolicy
from restosync_core.policies.retry import RetryPolicy
from restosync_core.ports.agent_client import AgentClient, AgentDirectory
from restosync_core.ports.agents import AgentRepository, AgentTokenCache, TokenHasher
from restosync_core.ports.alerts import Alert, AlertSink, AlertType
from restosync_core.ports.audit import AuditLog
from restosync_core.ports.breaker import CircuitBreaker
from restosync_core.ports.catalog import (
    ItemCodes,
    ItemRepository,
    ItemWrite,
    StockKey,
    StockRepository,
    StockTarget,
    StockWrite,
    WarehouseRepository,
    WarehouseWrite,
)
from restosync_core.ports.clock import Clock, SystemClock
from restosync_core.ports.mappings import (
    CodeKey,
    MappingInvalidation,
    MappingLookup,
    MappingRepository,
    MappingResolver,
)
from restosync_core.ports.orders import DeadLetterRepository, OrderRepository, SyncJobClaims, SyncJobRepository
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.rate_limit import RateLimiter
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases.deliver_order import DeliverOrder
from restosync_core.use_cases.get_dead_letter import GetDeadLetter
from restosync_core.use_cases.get_order import GetOrder
from restosync_core.use_cases.get_sync_job import GetSyncJob
from restosync_core.use_cases.get_sync_status import GetSyncStatus
from restosync_core.use_cases.handle_order_callback import HandleOrderCallback
from restosync_core.use_cases.ingest_items import IngestItems
from restosync_core.use_cases.ingest_stock import IngestStock
from restosync_core.use_cases.ingest_warehouses import IngestWarehouses
from restosync_core.use_cases.list_dead_letters import ListDeadLetters
from restosync_core.use_cases.list_sync_jobs import ListSyncJobs
from restosync_core.use_cases.place_order import PlaceOrder
from restosync_core.use_cases.reset_circuit_breaker import ResetCircuitBreaker
from restosync_core.use_cases.resolve_dead_letter import ResolveDeadLetter
from restosync_core.use_cases.resolve_mappings import CachedMappingResolver
from restosync_core.use_cases.retry_dead_letter import RetryDeadLetter
from restosync_core.use_cases.sweep_sync_jobs import SweepSyncJobs

__all__ = [
    "NO_REQUEST",
    "Agent",
    "AgentClient",
    "AgentDirectory",
    "AgentEndpoint",
    "AgentId",
    "AgentRefused",
    "AgentRepository",
    "AgentStatus",
    "AgentTokenCache",
    "AgentUnavailable",
    "Alert",
    "AlertSink",
    "AlertType",
    "AuditEntry",
    "AuditLog",
    "BreakerKey",
    "BreakerPolicy",
    "BreakerState",
    "BreakerStatus",
    "CachedMappingResolver",
    "CircuitBreaker",
    "CircuitOpen",
    "ClientError",
    "Clock",
    "CodeKey",
    "Conflict",
    "DeadLetter",
    "DeadLetterId",
    "DeadLetterRepository",
    "DeliverOrder",
    "DeliveryOutcome",
    "DependencyUnavailable",
    "Forbidden",
    "GetDeadLetter",
    "GetOrder",
    "GetSyncJob",
    "GetSyncStatus",
    "HandleOrderCallback",
    "IngestItems",
    "IngestReport",
    "IngestStock",
    "IngestWarehouses",
    "Item",
    "ItemCodes",
    "ItemRepository",
    "ItemWrite",
    "JobQueue",
    "ListDeadLetters",
    "ListSyncJobs",
    "Mapping",
    "MappingId",
    "MappingInvalidation",
    "MappingLookup",
    "MappingRepository",
    "MappingResolver",
    "MappingResult",
    "MappingType",
    "NewMapping",
    "NewOrder",
    "NewOrderLine",
    "NotFound",
    "Order",
    "OrderId",
    "OrderLine",
    "OrderRepository",
    "OrderStatus",
    "OutboundCredential",
    "Page",
    "PageRequest",
    "PayloadTooLarge",
    "PlaceOrder",
    "PlacedOrder",
    "RateLimited",
    "RateLimiter",
    "RequestContext",
    "ResetCircuitBreaker",
    "ResolveDeadLetter",
    "RestosyncError",
    "RetryDeadLetter",
    "RetryPolicy",
    "RowReason",
    "RowStatus",
    "StockKey",
    "StockLevel",
    "StockRepository",
    "StockTarget",
    "StockWrite",
    "StoredVersion",
    "SweepSyncJobs",
    "SyncJob",
    "SyncJobClaims",
    "SyncJobFilter",
    "SyncJobId",
    "SyncJobRepository",
    "SyncJobStatus",
    "SystemClock",
    "TokenHasher",
    "TransientError",
    "Unauthenticated",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "ValidationFailed",
    "VendorId",
    "Warehouse",
    "WarehouseRepository",
    "WarehouseWrite",
]
