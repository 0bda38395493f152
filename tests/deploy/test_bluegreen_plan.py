"""Blue-green decisions (pure) and their order of execution, against a fake runtime."""

from __future__ import annotations

from dataclasses import replace

import pytest

from restosync_cli.bluegreen import (
    Action,
    ColourState,
    Deployer,
    DeployError,
    DeployState,
    plan_deploy,
    plan_rollback,
)

PORTS = {"blue": 8001, "green": 8002}
CMD = ("restosync",)


def running(colour: str, release: str, *, workers: bool = True) -> ColourState:
    return ColourState(colour, release, PORTS[colour], api_pid=100, worker_pid=200 if workers else 0, command=CMD)


def steps(actions: list[Action]) -> list[tuple[str, str]]:
    return [(a.step.value, a.colour) for a in actions]


def test_the_first_deploy_goes_to_blue_and_switches_after_health() -> None:
    plan = plan_deploy(DeployState(), "abc", CMD, PORTS)
    assert steps(plan.actions) == [("migrate", "blue"), ("start", "blue"), ("await-health", "blue"),
                                   ("switch", "blue")]
    assert steps(plan.on_failure) == [("stop", "blue")]


def test_a_deploy_goes_to_the_idle_colour_stopping_the_release_before_last_and_draining_the_live_one() -> None:
    state = DeployState("blue", {"blue": running("blue", "v2"), "green": running("green", "v1", workers=False)})
    plan = plan_deploy(state, "v3", CMD, PORTS)
    assert steps(plan.actions) == [("stop", "green"), ("migrate", "green"), ("start", "green"),
                                   ("await-health", "green"), ("switch", "green"), ("drain", "blue")]
    assert plan.actions[2].incoming == ColourState("green", "v3", 8002, command=CMD)


def test_rollback_wakes_the_kept_colour_switches_back_and_drains_the_other() -> None:
    state = DeployState("green", {"blue": running("blue", "v1", workers=False), "green": running("green", "v2")})
    assert steps(plan_rollback(state).actions) == [("start-workers", "blue"), ("await-health", "blue"),
                                                   ("switch", "blue"), ("drain", "green")]


@pytest.mark.parametrize("state", [
    DeployState(),
    DeployState("blue", {"blue": running("blue", "v1")}),
    DeployState("blue", {"blue": running("blue", "v2"), "green": replace(running("green", "v1"), api_pid=0)}),
])
def test_rollback_refuses_when_no_previous_colour_still_runs(state: DeployState) -> None:
    with pytest.raises(DeployError):
        plan_rollback(state)


class FakeColours:
    """Records what was done; ``/health`` answers 200 from the ``healthy_after``-th probe on (never if None)."""

    def __init__(self, healthy_after: int | None) -> None:
        self.healthy_after = healthy_after
        self.events: list[str] = []
        self.probes = 0

    def migrate(self, colour: ColourState) -> None:
        self.events.append(f"migrate {colour.release}")

    def start(self, colour: ColourState) -> ColourState:
        self.events.append(f"start {colour.colour}")
        return replace(colour, api_pid=1, worker_pid=2)

    def start_workers(self, colour: ColourState) -> ColourState:
        self.events.append(f"start-workers {colour.colour}")
        return replace(colour, worker_pid=2)

    def healthy(self, colour: ColourState) -> bool:
        self.probes += 1
        ok = self.healthy_after is not None and self.probes >= self.healthy_after
        self.events.append(f"health {colour.colour} {'200' if ok else '503'}")
        return ok

    def switch(self, colour: ColourState) -> None:
        self.events.append(f"switch {colour.colour}")

    def drain(self, colour: ColourState) -> ColourState:
        self.events.append(f"drain {colour.colour}")
        return replace(colour, worker_pid=0)

    def stop(self, colour: ColourState) -> ColourState:
        self.events.append(f"stop {colour.colour}")
        return replace(colour, api_pid=0, worker_pid=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def deployer(colours: FakeColours, saved: list[DeployState]) -> Deployer:
    clock = FakeClock()
    return Deployer(colours, saved.append, health_timeout=10, poll_seconds=1, clock=clock, sleep=clock.sleep)


def test_traffic_switches_only_once_the_new_colour_answers_health() -> None:
    colours, saved = FakeColours(healthy_after=3), []
    live_blue = DeployState("blue", {"blue": running("blue", "v1")})
    state = deployer(colours, saved).deploy(live_blue, "v2", CMD, PORTS)
    assert colours.events == ["migrate v2", "start green", "health green 503", "health green 503",
                              "health green 200", "switch green", "drain blue"]
    assert state.live == "green"
    assert state.colours["blue"].api_pid == 100 and state.colours["blue"].worker_pid == 0  # kept for a rollback
    assert saved[-1] == state


def test_a_new_colour_that_never_becomes_healthy_is_stopped_and_traffic_stays() -> None:
    colours, saved = FakeColours(healthy_after=None), []
    live_blue = DeployState("blue", {"blue": running("blue", "v1")})
    with pytest.raises(DeployError, match="not healthy within 10 s"):
        deployer(colours, saved).deploy(live_blue, "v2", CMD, PORTS)
    assert not any(e.startswith(("switch", "drain")) for e in colours.events)
    assert colours.events[-1] == "stop green"
    assert saved[-1].live == "blue" and saved[-1].colours["blue"] == running("blue", "v1")
    assert saved[-1].colours["green"].api_pid == 0


def test_a_failed_migration_starts_nothing_and_moves_no_traffic() -> None:
    class FailingMigration(FakeColours):
        def migrate(self, colour: ColourState) -> None:
            raise RuntimeError("relation already exists")

    colours, saved = FailingMigration(healthy_after=1), []
    with pytest.raises(DeployError, match="relation already exists"):
        deployer(colours, saved).deploy(DeployState("blue", {"blue": running("blue", "v1")}), "v2", CMD, PORTS)
    assert colours.events == []


def test_rollback_switches_back_after_the_old_colour_answers_health() -> None:
    colours, saved = FakeColours(healthy_after=1), []
    state = DeployState("green", {"blue": running("blue", "v1", workers=False), "green": running("green", "v2")})
    after = deployer(colours, saved).rollback(state)
    assert colours.events == ["start-workers blue", "health blue 200", "switch blue", "drain green"]
    assert after.live == "blue" and after.colours["green"].worker_pid == 0
