"""The report_health use case: required parts decide, a slow or broken probe can't take it down."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from restosync_core.ports.health import ProbeResult
from restosync_core.use_cases.report_health import report_health


@dataclass
class StubProbe:
    name: str
    required: bool = True
    up: bool = True
    delay: float = 0.0
    raises: bool = False
    details: dict[str, object] = field(default_factory=dict)

    async def check(self) -> ProbeResult:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.raises:
            raise RuntimeError("boom with secrets inside")
        return ProbeResult(up=self.up, details=self.details, error=None if self.up else "down")


def test_all_up_is_ok() -> None:
    report = asyncio.run(report_health([StubProbe("database"), StubProbe("redis")]))
    assert report.ok and report.failing == []
    assert set(report.results) == {"database", "redis"}


def test_a_required_part_down_is_named() -> None:
    report = asyncio.run(report_health([StubProbe("database"), StubProbe("redis", up=False)]))
    assert not report.ok
    assert report.failing == ["redis"]


def test_an_optional_part_down_does_not_fail_the_report() -> None:
    report = asyncio.run(report_health([StubProbe("database"), StubProbe("agents", required=False, up=False)]))
    assert report.ok
    assert report.results["agents"].up is False


def test_a_probe_that_hangs_is_reported_down_after_the_timeout() -> None:
    report = asyncio.run(report_health([StubProbe("redis", delay=5)], probe_timeout=0.05))
    assert report.failing == ["redis"]
    assert "no answer within" in (report.results["redis"].error or "")


def test_a_probe_that_raises_is_down_without_its_message() -> None:
    report = asyncio.run(report_health([StubProbe("database", raises=True)]))
    assert report.failing == ["database"]
    assert report.results["database"].error == "RuntimeError"
