"""``make chaos``'s R1 and R2, shortened: 300 orders through one Redis restart (data lost), then through one
worker killed with SIGKILL mid-call. Every count of the full scenarios must hold here too."""

from __future__ import annotations

import pytest

from tests.chaos.scenarios import SMOKE, r1, r2


@pytest.mark.parametrize("scenario", [r1, r2], ids=["R1", "R2"])
def test_the_shortened_scenario_counts_hold(scenario: object) -> None:
    outcome = scenario(SMOKE)  # type: ignore[operator]
    print(outcome.line())
    assert outcome.passed, outcome.line()
    assert outcome.counts["delivered"] == SMOKE.orders and outcome.counts["lost"] == 0
