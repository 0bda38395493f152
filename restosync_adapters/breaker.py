"""RedisCircuitBreaker: one breaker per ``vendorId:apiType`` whose state every process shares in Redis.

Each breaker lives in Redis as two keys: its state (a small JSON record: closed,
open or half-open, and when it opened) and its rolling window (a hash of
per-slice success and failure counts). Counting calls and reading the state is
one script (``HINCRBY`` the window, answer the state); after a failure the core's pure
policy (``restosync_core.policies.breaker``) decides on the window whether it
trips, and every state change is made in an optimistic transaction (WATCH/MULTI)
so only one process makes it. The half-open probe is claimed with ``SET NX PX``,
so exactly one caller in all processes makes it. A process trusts a "closed" it read for ``state_refresh_seconds``
(``BREAKER_STATE_REFRESH_MS``, 250 ms) before asking Redis again, and counts its
good calls in Redis with that same read: a call costs at most one round trip,
and calls in quick succession share one per 250 ms. So an opening made by another
process is seen here at most that much later (one more call to the agent, at
most, from a process whose own calls all went well), and a good call is counted
at the latest with the process's next call or its stop. Open and half-open are
never trusted: they are read on every call. A failure is counted at once
(with the good calls not yet counted) and drops the trusted "closed".
Only the process that makes a transition logs it and raises the
``circuit_breaker_open`` alert, so each is reported once. If Redis is down the
breaker does not pretend to be closed: the call is refused as
``DependencyUnavailable``.

Every time it reads is the injected ``Clock``'s, so tests drive it. The freshness
of a trusted "closed" is measured on that clock too: a wall clock stepped back
(NTP) gives a negative age, which counts as stale (one more Redis read), never
as fresh for longer. (aiobreaker, once kept here as a per-process view whose
listeners logged transitions, is gone: it read the wall clock itself and decided
nothing; docs/orders.md.)
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

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
COUNT_CALLS = """
local oldest = tonumber(ARGV[3])
for i = 4, #ARGV, 2 do
  if tonumber(string.match(ARGV[i], '^[^:]+')) >= oldest then
    redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
if #ARGV > 3 then
  for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
    if tonumber(string.match(name, '^[^:]+')) < oldest then
      redis.call('HDEL', KEYS[1], name)
    end
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('SADD', KEYS[2], ARGV[2])
end
return redis.call('GET', KEYS[3])
"""
"""Add counts to the window (``<slice>:s`` / ``<slice>:f`` -> n) and drop its slices older than the window (a
breaker called without pause would otherwise grow a field per slice forever), keep the breaker in the index,
answer its state: one round trip. ``KEYS``: window, index, state; ``ARGV``: window TTL (ms), index member,
oldest slice start to keep, field/count pairs."""
CLOSED_ADMISSION = policy.Admission(allowed=True, probe=False, retry_at=None, record=BreakerRecord())


def encode(record: BreakerRecord) -> str:
    """The state key's value (the window lives in its own hash)."""
    return json.dumps(
        {"state": record.state.value, "openedAt": record.opened_at.isoformat() if record.opened_at else None}
    )


def decode(raw: bytes | str | None, window: dict[Any, Any] | None = None) -> BreakerRecord:
    """A record from the state key's value and the window hash (``<slice>:s`` / ``<slice>:f`` -> count)."""
    slices: dict[float, list[int]] = {}
    for field_name, count in (window or {}).items():
        name = field_name.decode() if isinstance(field_name, bytes) else str(field_name)
        start, _, kind = name.partition(":")
        slices.setdefault(float(start), [0, 0])[0 if kind == "s" else 1] += int(count)
    buckets = tuple((start, ok, ko) for start, (ok, ko) in sorted(slices.items()))
    if not raw:
        return BreakerRecord(window=buckets)
    data = json.loads(raw)
    opened = data.get("openedAt")
    return BreakerRecord(
        state=BreakerState(data["state"]),
        opened_at=datetime.fromisoformat(opened) if opened else None,
        window=buckets,
    )


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
        state_refresh_seconds: float = 0.25,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.policy = breaker_policy
        self.clock = clock
        self.alerts = alerts
        self.probe_ttl_ms = int(probe_ttl_seconds * 1000)
        self.state_refresh_seconds = state_refresh_seconds
        self._closed_seen: dict[BreakerKey, datetime] = {}
        """When (``clock.now()``) Redis last said this breaker is closed."""
        self._pending: dict[BreakerKey, dict[str, int]] = {}
        """Good calls made here and not yet counted in Redis, per window field."""
        self._count = redis.register_script(COUNT_CALLS)

    # ------------------------------------------------------------------ keys
    def _key(self, key: BreakerKey) -> str:
        return f"{self.prefix}:breaker:{key}"

    def _window_key(self, key: BreakerKey) -> str:
        return f"{self.prefix}:breaker-window:{key}"

    def _probe_key(self, key: BreakerKey) -> str:
        return f"{self.prefix}:breaker-probe:{key}"

    @property
    def _index(self) -> str:
        return f"{self.prefix}:breakers"

    # ------------------------------------------------------------------ the port
    async def call(self, key: BreakerKey, fn: Callable[[], Awaitable[T]]) -> T:
        now = self.clock.now()
        if self._trusted_closed(key):
            admission = CLOSED_ADMISSION
        else:
            record = decode(await self._redis(self._sync(key)))
            admission = policy.admit(record, now, self.policy)
        if admission.record.state is not BreakerState.CLOSED and admission.allowed:
            # open -> half-open is a transition: make it (once, for everyone) in a transaction.
            def admit(record: BreakerRecord) -> BreakerRecord:
                nonlocal admission
                admission = policy.admit(record, now, self.policy)
                return admission.record

            await self._update(key, admit)
        if not admission.allowed:
            assert admission.retry_at is not None
            raise CircuitOpen(f"the circuit breaker {key} is open", retry_at=admission.retry_at)
        probe_token = None
        if admission.probe:
            probe_token = uuid.uuid4().hex
            if not await self._redis(self.redis.set(self._probe_key(key), probe_token, nx=True, px=self.probe_ttl_ms)):
                assert admission.retry_at is not None
                raise CircuitOpen(f"the circuit breaker {key} is half-open and probing", retry_at=admission.retry_at)
        probing = admission.probe
        try:
            result = await fn()
        except Exception as exc:
            await self._record(key, ok=not policy.counts_as_failure(exc), probe=probing)
            raise
        else:
            await self._record(key, ok=True, probe=probing)
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
        async with self.redis.pipeline(transaction=False) as pipe:
            for k in keys:
                pipe.get(self._key(k))
                pipe.hgetall(self._window_key(k))
            values = await self._redis(pipe.execute())
        now = self.clock.now()
        return [
            policy.status_of(k, decode(values[2 * i], values[2 * i + 1]), now, self.policy)
            for i, k in enumerate(keys)
        ]

    async def reset(self, key: BreakerKey) -> BreakerStatus:
        await self._update(key, lambda _: BreakerRecord(), force_write=True)
        await self._redis(self.redis.delete(self._probe_key(key)))
        return policy.status_of(key, BreakerRecord(), self.clock.now(), self.policy)

    # ------------------------------------------------------------------ internals
    def _trusted_closed(self, key: BreakerKey) -> bool:
        seen = self._closed_seen.get(key)
        if seen is None:
            return False
        age = (self.clock.now() - seen).total_seconds()
        return 0 <= age < self.state_refresh_seconds  # a clock stepped back: stale, read again

    def _saw(self, key: BreakerKey, state: BreakerState) -> None:
        if state is BreakerState.CLOSED:
            self._closed_seen[key] = self.clock.now()
        else:
            self._closed_seen.pop(key, None)
            self._pending.pop(key, None)  # good calls of a window that has been closed since: not counted

    async def _sync(self, key: BreakerKey, failure: str | None = None) -> Any:
        """Count this process's pending good calls (and ``failure``'s slice, if any) and read the state."""
        counts = self._pending.pop(key, {})
        if failure is not None:
            counts[failure] = counts.get(failure, 0) + 1
        now = self.clock.now().timestamp()
        # The window's oldest slice still counts (``policy.rolled``); half a slice less absorbs float rounding.
        oldest = now - now % self.policy.slice_seconds - self.policy.window_seconds - self.policy.slice_seconds / 2
        args: list[Any] = [int(self.policy.window_seconds * 2000) + 1000, str(key), repr(oldest)]
        for field_name, count in counts.items():
            args += [field_name, count]
        try:
            raw = await self._count(keys=[self._window_key(key), self._index, self._key(key)], args=args)
        except BaseException:
            if failure is not None:
                counts[failure] -= 1
            for field_name, count in counts.items():  # not lost: counted with the next call
                if count:
                    pending = self._pending.setdefault(key, {})
                    pending[field_name] = pending.get(field_name, 0) + count
            raise
        self._saw(key, decode(raw).state)
        return raw

    async def flush(self) -> None:
        """Count every pending good call now (a process stopping calls it)."""
        for key in list(self._pending):
            try:
                await self._sync(key)
            except RedisError:
                log.warning("could not count the last good calls on breaker %s: Redis is unavailable", key)

    async def _record(self, key: BreakerKey, *, ok: bool, probe: bool) -> None:
        now = self.clock.now()
        start = now.timestamp() - now.timestamp() % self.policy.slice_seconds
        if not ok:
            self._closed_seen.pop(key, None)
        try:
            if probe:  # the half-open probe's outcome closes or reopens the breaker
                await self._update(key, lambda r: policy.record_call(r, now, ok, self.policy))
                return
            if ok:
                # Counted with this process's next trip to Redis: its next call's state read, at the latest
                # once the trusted "closed" is stale (so at most every ``state_refresh_seconds`` while it
                # keeps calling), or a failure, or ``flush``.
                pending = self._pending.setdefault(key, {})
                pending[f"{start}:s"] = pending.get(f"{start}:s", 0) + 1
                if not self._trusted_closed(key):
                    await self._sync(key)
                return
            await self._sync(key, failure=f"{start}:f")
            await self._update(key, lambda r: self._tripped(r, now))
        except (RedisError, DependencyUnavailable):
            log.warning("could not record a call on breaker %s: Redis is unavailable", key)

    def _tripped(self, record: BreakerRecord, now: datetime) -> BreakerRecord:
        """A closed breaker whose window (this failure counted) crosses the threshold opens."""
        if record.state is BreakerState.CLOSED and policy.trips(policy.rolled(record, now, self.policy), self.policy):
            return BreakerRecord(state=BreakerState.OPEN, opened_at=now)
        return record

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
        name, window = self._key(key), self._window_key(key)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(name, window)
                        before = decode(await pipe.get(name), await pipe.hgetall(window))
                        after = change(before)
                        if after == before and not force_write:
                            await pipe.unwatch()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                            break
                        pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                        pipe.set(name, encode(after), ex=RECORD_TTL_SECONDS)
                        if after.state is not before.state or force_write:
                            pipe.delete(window)  # every change of state starts an empty window
                        pipe.sadd(self._index, str(key))
                        await pipe.execute()
                        break
                    except WatchError:
                        continue
        except RedisError as exc:
            raise DependencyUnavailable("the circuit breaker state (Redis) is unavailable") from exc
        self._closed_seen.pop(key, None)  # read afresh after any failure, probe, reset or transition
        if after.state is not before.state:
            await self._transition(key, before, after)

    async def _transition(self, key: BreakerKey, before: BreakerRecord, after: BreakerRecord) -> None:
        """Log the transition this process made, and alert on an opening."""
        log.warning("circuit breaker %s: %s -> %s", key, before.state.value, after.state.value)
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
