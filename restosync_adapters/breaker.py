"""RedisCircuitBreaker: one breaker per ``vendorId:apiType`` whose state every process shares in Redis.

aiobreaker alone does not fit (GOTCHAS): it counts consecutive failures with no
percentage or volume rule, its Redis storage blocks the event loop and falls back
to "closed" when Redis errors, and half-open lets every concurrent call through.
So the state lives in Redis as one small JSON record per breaker, updated in an
optimistic transaction (WATCH/MULTI) by the core's pure policy
(``restosync_core.policies.breaker``); the half-open probe is claimed with
``SET NX PX``, so exactly one caller in all processes makes it. Each process keeps
an aiobreaker ``CircuitBreaker`` per key as its local view of the shared state,
moved on every transition this process makes, whose listeners log transitions.
Only the process that makes a transition logs it and raises the
``circuit_breaker_open`` alert, so each is reported once. If Redis is down the
breaker does not pretend to be closed: the call is refused as
``DependencyUnavailable``.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiobreaker
import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from restosync_core.errors import CircuitOpen, DependencyUnavailable
from restosync_core.model.delivery import BreakerKey, BreakerState, BreakerStatus
from restosync_core.policies import breaker as policy
from restosync_core.policies.breaker import BreakerPolicy, BreakerRecord
from restosync_core.ports.alerts import Alert, AlertSink, AlertType
from restosync_core.ports.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")

RECORD_TTL_SECONDS = 7 * 24 * 3600
"""A breaker nobody called for a week is forgotten (it would be closed with an empty window anyway)."""
_AIO_STATE = {
    BreakerState.CLOSED: aiobreaker.CircuitBreakerState.CLOSED,
    BreakerState.OPEN: aiobreaker.CircuitBreakerState.OPEN,
    BreakerState.HALF_OPEN: aiobreaker.CircuitBreakerState.HALF_OPEN,
}


def encode(record: BreakerRecord) -> str:
    return json.dumps(
        {
            "state": record.state.value,
            "openedAt": record.opened_at.isoformat() if record.opened_at else None,
            "window": [list(b) for b in record.window],
        }
    )


def decode(raw: bytes | str | None) -> BreakerRecord:
    if not raw:
        return BreakerRecord()
    data = json.loads(raw)
    opened = data.get("openedAt")
    return BreakerRecord(
        state=BreakerState(data["state"]),
        opened_at=datetime.fromisoformat(opened) if opened else None,
        window=tuple((float(s), int(ok), int(ko)) for s, ok, ko in data.get("window", [])),
    )


class _TransitionLog(aiobreaker.CircuitBreakerListener):
    def state_change(self, breaker: Any, old: Any, new: Any) -> None:
        old_name = old.state.name.lower() if old is not None else "unknown"
        log.warning("circuit breaker %s: %s -> %s", breaker.name, old_name, new.state.name.lower())


class RedisCircuitBreaker:
    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        breaker_policy: BreakerPolicy,
        clock: Clock,
        *,
        alerts: AlertSink | None = None,
        probe_ttl_seconds: float = 60.0,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.policy = breaker_policy
        self.clock = clock
        self.alerts = alerts
        self.probe_ttl_ms = int(probe_ttl_seconds * 1000)
        self.local: dict[BreakerKey, aiobreaker.CircuitBreaker] = {}
        self._listener = _TransitionLog()

    # ------------------------------------------------------------------ keys
    def _key(self, key: BreakerKey) -> str:
        return f"{self.prefix}:breaker:{key}"

    def _probe_key(self, key: BreakerKey) -> str:
        return f"{self.prefix}:breaker-probe:{key}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}:breakers"

    # ------------------------------------------------------------------ the port
    async def call(self, key: BreakerKey, fn: Callable[[], Awaitable[T]]) -> T:
        now = self.clock.now()
        admission: policy.Admission | None = None

        def admit(record: BreakerRecord) -> BreakerRecord:
            nonlocal admission
            admission = policy.admit(record, now, self.policy)
            return admission.record

        await self._update(key, admit)
        assert admission is not None
        if not admission.allowed:
            assert admission.retry_at is not None
            raise CircuitOpen(f"the circuit breaker {key} is open", retry_at=admission.retry_at)
        probe_token = None
        if admission.probe:
            probe_token = uuid.uuid4().hex
            if not await self._redis(self.redis.set(self._probe_key(key), probe_token, nx=True, px=self.probe_ttl_ms)):
                assert admission.retry_at is not None
                raise CircuitOpen(f"the circuit breaker {key} is half-open and probing", retry_at=admission.retry_at)
        try:
            result = await fn()
        except Exception as exc:
            await self._record(key, ok=not policy.counts_as_failure(exc))
            raise
        else:
            await self._record(key, ok=True)
            return result
        finally:
            if probe_token is not None:
                await self._release_probe(key, probe_token)

    async def status(self) -> list[BreakerStatus]:
        members = await self._redis(self.redis.smembers(self._index))
        names = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
        if not names:
            return []
        keys = [BreakerKey.parse(n) for n in names]
        raws = await self._redis(self.redis.mget([self._key(k) for k in keys]))
        now = self.clock.now()
        return [policy.status_of(k, decode(raw), now, self.policy) for k, raw in zip(keys, raws, strict=True)]

    async def reset(self, key: BreakerKey) -> BreakerStatus:
        await self._update(key, lambda _: BreakerRecord(), force_write=True)
        await self._redis(self.redis.delete(self._probe_key(key)))
        return policy.status_of(key, BreakerRecord(), self.clock.now(), self.policy)

    # ------------------------------------------------------------------ internals
    async def _record(self, key: BreakerKey, *, ok: bool) -> None:
        now = self.clock.now()
        try:
            await self._update(key, lambda r: policy.record_call(r, now, ok, self.policy))
        except DependencyUnavailable:
            log.warning("could not record a call on breaker %s: Redis is unavailable", key)

    async def _release_probe(self, key: BreakerKey, token: str) -> None:
        try:
            if await self.redis.get(self._probe_key(key)) == token.encode():
                await self.redis.delete(self._probe_key(key))
        except RedisError:
            pass  # the probe claim expires by itself

    async def _update(
        self, key: BreakerKey, change: Callable[[BreakerRecord], BreakerRecord], *, force_write: bool = False
    ) -> None:
        """Apply ``change`` to the shared record atomically; report the transition if it made one."""
        name = self._key(key)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(name)
                        before = decode(await pipe.get(name))
                        after = change(before)
                        if after == before and not force_write:
                            await pipe.unwatch()
                            break
                        pipe.multi()
                        pipe.set(name, encode(after), ex=RECORD_TTL_SECONDS)
                        pipe.sadd(self._index, str(key))
                        await pipe.execute()
                        break
                    except WatchError:
                        continue
        except RedisError as exc:
            raise DependencyUnavailable("the circuit breaker state (Redis) is unavailable") from exc
        if after.state is not before.state:
            await self._transition(key, before, after)

    async def _transition(self, key: BreakerKey, before: BreakerRecord, after: BreakerRecord) -> None:
        local = self.local.get(key)
        if local is None:
            local = aiobreaker.CircuitBreaker(fail_max=sys.maxsize, listeners=[self._listener], name=str(key))
            if before.state is not BreakerState.CLOSED:
                local._state_storage.state = _AIO_STATE[before.state]
            self.local[key] = local
        {BreakerState.OPEN: local.open, BreakerState.HALF_OPEN: local.half_open, BreakerState.CLOSED: local.close}[
            after.state
        ]()
        if after.state is BreakerState.OPEN and self.alerts is not None:
            retry_at = (after.opened_at or self.clock.now()) + timedelta(seconds=self.policy.reset_timeout_seconds)
            alert = Alert(
                type=AlertType.CIRCUIT_BREAKER_OPEN,
                message=f"Circuit breaker {key} opened: calls to the agent are refused until {retry_at:%H:%M:%S} UTC",
                at=self.clock.now(),
                vendor_id=key.vendor_id,
                details={"breaker": str(key), "from": before.state.value, "halfOpenAt": retry_at.isoformat()},
            )
            try:
                await self.alerts.send(alert)
            except Exception:
                log.exception("could not send the circuit_breaker_open alert for %s", key)

    async def _redis(self, awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except RedisError as exc:
            raise DependencyUnavailable("the circuit breaker state (Redis) is unavailable") from exc
