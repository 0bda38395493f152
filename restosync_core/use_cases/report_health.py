"""Report health: run every probe at once, and say whether the service as a whole is up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from restosync_core.ports.health import HealthProbe, ProbeResult

PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    results: dict[str, ProbeResult]
    failing: list[str]
    """The names of the required subsystems that are down."""


async def _check(probe: HealthProbe, seconds: float) -> ProbeResult:
    try:
        return await asyncio.wait_for(probe.check(), seconds)
    except TimeoutError:
        return ProbeResult(up=False, error=f"no answer within {seconds:g} s")
    except Exception as exc:  # a probe must never take /health down with it
        return ProbeResult(up=False, error=type(exc).__name__)


async def report_health(
    probes: Sequence[HealthProbe], *, probe_timeout: float = PROBE_TIMEOUT_SECONDS
) -> HealthReport:
    results = await asyncio.gather(*(_check(p, probe_timeout) for p in probes))
    by_name = {p.name: r for p, r in zip(probes, results, strict=True)}
    failing = [p.name for p, r in zip(probes, results, strict=True) if p.required and not r.up]
    return HealthReport(ok=not failing, results=by_name, failing=failing)


@dataclass(frozen=True, slots=True)
class ReportHealth:
    """``report_health`` over this process's probes."""

    probes: Sequence[HealthProbe]
    probe_timeout: float = PROBE_TIMEOUT_SECONDS

    async def __call__(self) -> HealthReport:
        return await report_health(self.probes, probe_timeout=self.probe_timeout)
