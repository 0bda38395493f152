"""RQ queue names: the spec's three logical queues, namespaced by ``REDIS_PREFIX``."""

from __future__ import annotations

from rq import Queue

ORDER_SYNC = "order-sync"
RECONCILIATION = "reconciliation"
IMAGE_SYNC = "image-sync"
LOGICAL_QUEUES = (ORDER_SYNC, RECONCILIATION, IMAGE_SYNC)


def rq_queue_name(prefix: str, logical: str) -> str:
    """The name RQ knows a logical queue by: ``<prefix>:<logical>`` (``restosync:order-sync``)."""
    return f"{prefix}:{logical}"


def rq_queue_key(prefix: str, logical: str) -> str:
    """The Redis list that holds the queued job ids of a logical queue."""
    return Queue.redis_queue_namespace_prefix + rq_queue_name(prefix, logical)
