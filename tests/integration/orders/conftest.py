"""Order-delivery fixtures: fast retry settings, a fake agent over HTTP, an in-process RQ worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from litestar.testing import TestClient

from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.queues import LOGICAL_QUEUES, rq_queue_name
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from restosync_worker import runtime
from restosync_worker.worker import RestosyncWorker
from tests.conftest import REDIS_URL, make_settings
from tests.waiting import wait_until

FAST = {
    "ORDER_RETRY_DELAYS_SECONDS": "0.2",
    "ORDER_CLAIM_SECONDS": "3",
    "ORDER_CALLBACK_TIMEOUT_SECONDS": "30",
    "AGENT_TIMEOUT_SECONDS": "1",
    "BREAKER_RESET_TIMEOUT_SECONDS": "1",
    "RATE_LIMITS_ENABLED": "false",
}


@pytest.fixture
def order_settings(request: pytest.FixtureRequest, clean_db: str, redis_ns: str) -> Settings:
    """FAST, plus what a test's ``@pytest.mark.settings(NAME="value")`` adds."""
    marker = request.node.get_closest_marker("settings")
    return make_settings(clean_db, redis_ns, **{**FAST, **(marker.kwargs if marker else {})})


@pytest.fixture
def api(order_settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(bootstrap(order_settings))) as client:
        yield client


class Worker:
    """An in-process RQ worker (the real worker class), run in bursts until something is true."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime = runtime.start(settings)
        self.connection = self.runtime.services.sync_redis
        self.queues = [rq_queue_name(settings.redis_prefix, q) for q in LOGICAL_QUEUES]

    @property
    def services(self) -> Services:
        return self.runtime.services

    def burst(self) -> None:
        RestosyncWorker(self.queues, connection=self.connection).work(burst=True, with_scheduler=True)

    def until(self, check: Callable[[], Any], seconds: float, what: str) -> Any:
        """Burst the worker, then check; again until ``check`` holds (``tests.waiting.wait_until``)."""

        def burst_then_check() -> Any:
            self.burst()
            return check()

        return wait_until(burst_then_check, seconds, what)

    def sweep(self) -> int:
        return self.runtime.run(self.services.sweep_sync_jobs())

    def close(self) -> None:
        runtime.stop()


@pytest.fixture
def worker(order_settings: Settings) -> Iterator[Worker]:
    w = Worker(order_settings)
    yield w
    w.close()


def flush_rq(prefix: str) -> int:
    """What a Redis restart without persistence does to our RQ keys (other tests' keys untouched)."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = [k for pattern in (f"rq:*{prefix}*",) for k in client.scan_iter(match=pattern, count=1000)]
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


def admin(client: Any) -> dict[str, str]:
    return {"X-API-Key": client.app.state.services.settings.api_secret}


def order_body(vendor: str, number: str = "A-1") -> dict[str, Any]:
    return {
        "vendorId": vendor,
        "orderNumber": number,
        "lines": [{"sku": "SKU-1", "quantity": "2", "unitPrice": "18.50"}, {"sku": "SKU-2", "quantity": "1.5",
                                                                             "unitPrice": "3"}],
    }
