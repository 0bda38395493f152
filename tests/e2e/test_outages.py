"""``restosync run`` rides out a 20 s outage of Redis (a real restart, data lost) or of PostgreSQL.

Orders keep being placed over HTTP throughout. Afterwards every process is still
the one that was running before (nothing had to be restarted: each rode out the
outage by itself), and every order answered 201 reaches the agent, under one
Idempotency-Key, without anyone doing anything.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from restosync_adapters.settings import Settings
from tests.e2e.conftest import wait_until
from tests.e2e.system import RedisServer, System, alive, delivered, via_port
from tests.fake_agent import FakeAgent
from tests.tcp_proxy import TcpProxy

OUTAGE_SECONDS = 20
DELIVERED_WITHIN_SECONDS = 60
"""After the outage: a worker wakes what Redis lost once it reconnects, and the sweeper runs
every 10 s here (polled every 10 s); the rest is margin for a loaded machine."""


def _hold_outage() -> None:
    threading.Event().wait(OUTAGE_SECONDS)  # holding the outage, not waiting for a condition


def _ride_out(system: System, agent: FakeAgent, cut: object, restore: object, failing: str) -> None:
    system.wait_healthy()
    system.register("vendor-1", agent)
    system.start_placing("vendor-1")
    wait_until(lambda: agent.order_count >= 5, 30, "the first orders to reach the agent")
    before = system.processes()
    assert len(before) >= 6, before  # run, api, worker + 2 worker processes, scheduler

    cut()  # type: ignore[operator]
    wait_until(lambda: system.http.get("/health").status_code == 503, 15, "/health = 503")
    health = system.http.get("/health").json()
    assert failing in health["failing"], health
    _hold_outage()
    restore()  # type: ignore[operator]
    during = len(system.accepted())

    wait_until(lambda: system.http.get("/health").status_code == 200, 30, "/health = 200 again")
    wait_until(lambda: len(system.accepted()) >= during + 10, 30, "orders accepted after the outage")
    system.stop_placing()
    accepted = system.accepted()
    statuses = system.statuses()

    def all_delivered() -> bool:
        return set(accepted) <= set(delivered(agent))

    try:
        wait_until(all_delivered, DELIVERED_WITHIN_SECONDS, "every accepted order to reach the agent")
    except AssertionError:
        missing = sorted(set(accepted) - set(delivered(agent)))
        raise AssertionError(f"{len(missing)} accepted order(s) not delivered: {missing[:10]}; answers {statuses}"
                             ) from None

    by_order = delivered(agent)
    assert all(len(keys) == 1 for keys in by_order.values()), "an order was delivered under two keys"
    assert {n: next(iter(by_order[n])) for n in accepted} == accepted, "each under its own sync job's key"
    unknown = {p.number for p in system.placed if p.status != 201}
    assert set(by_order) - set(accepted) <= unknown, "only orders placed can be delivered"
    assert statuses.get("201", 0) == len(accepted)
    after = system.processes()
    assert all(alive(pid) for pid in before), f"a process died: {before} -> {after}"
    assert set(after) == set(before), f"processes were replaced: {before} -> {after}"
    print(f"answers during the run: {statuses}; accepted and delivered: {len(accepted)}")


def _ride_out_or_show_logs(system: System, agent: FakeAgent, cut: object, restore: object, failing: str) -> None:
    try:
        _ride_out(system, agent, cut, restore, failing)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- restosync run's log (end) ---\n{system.output()[-15000:]}") from None


def test_every_process_rides_out_a_redis_restart_and_every_accepted_order_is_delivered(
    settings: Settings, own_redis: RedisServer, agent: FakeAgent
) -> None:
    system = System(settings, redis_url=own_redis.url)
    try:
        _ride_out_or_show_logs(system, agent, own_redis.stop, own_redis.start, "redis")
        assert system.stop(timeout=30) == 0
    finally:
        system.close()


def test_every_process_rides_out_a_database_outage_and_every_accepted_order_is_delivered(
    settings: Settings, own_redis: RedisServer, agent: FakeAgent
) -> None:
    upstream = urlsplit(settings.database_url)
    proxy = TcpProxy(upstream.hostname or "127.0.0.1", upstream.port or 5432).start()
    system = System(settings, redis_url=own_redis.url, database_url=via_port(settings.database_url, proxy.port))
    try:
        _ride_out_or_show_logs(system, agent, proxy.stop, proxy.start, "database")
        assert system.stop(timeout=30) == 0
    finally:
        system.close()
        proxy.stop()
