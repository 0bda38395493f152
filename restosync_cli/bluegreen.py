"""Blue-green deployment: what to do, decided by pure functions, then done through a ``Runtime``.

Two colours, ``blue`` and ``green``, each an API plus its workers running one release.
One colour is *live* (the load balancer sends traffic to it). A deploy:

1. stops whatever still runs in the idle colour (the release before last),
2. migrates with the new release (migrations stay backward compatible with the
   live release: docs/operations.md says how),
3. starts the new release in the idle colour, next to the live one,
4. waits until the new colour's ``/health`` answers 200,
5. switches traffic to it,
6. drains the old colour's workers (SIGTERM: each finishes its job or leaves it
   claimed in PostgreSQL for another worker), and keeps the old colour's API
   running, out of traffic, so ``rollback`` is one command.

If any of 2-4 fails, the new colour is stopped and traffic never moves. ``rollback``
starts the old colour's workers again, waits for its ``/health``, switches traffic
back and drains the other colour's workers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Protocol

log = logging.getLogger("restosync.deploy")

COLOURS = ("blue", "green")


@dataclass(frozen=True)
class ColourState:
    """What runs in one colour: its release, its API port, its process groups (0 = not running)."""

    colour: str
    release: str
    port: int
    api_pid: int = 0
    worker_pid: int = 0
    command: tuple[str, ...] = ()
    """The release's ``restosync`` command (e.g. ``/opt/restosync/<sha>/bin/restosync``)."""


@dataclass(frozen=True)
class DeployState:
    live: str | None = None
    colours: dict[str, ColourState] = field(default_factory=dict)


class Step(Enum):
    STOP = "stop"  # the colour's API and workers
    MIGRATE = "migrate"
    START = "start"  # API and workers of the new release
    START_WORKERS = "start-workers"
    AWAIT_HEALTH = "await-health"
    SWITCH = "switch"
    DRAIN = "drain"  # the colour's workers only; its API stays up for a rollback


@dataclass(frozen=True)
class Action:
    step: Step
    colour: str
    incoming: ColourState | None = None
    """For MIGRATE and START: the new release (otherwise the action is on what runs in ``colour``)."""


@dataclass(frozen=True)
class Plan:
    actions: list[Action]
    on_failure: list[Action]
    """What undoes a failed plan (before the switch): the new colour stopped, traffic untouched."""


class DeployError(Exception):
    """A deploy or rollback that cannot start, or whose new colour never became healthy."""


def other(colour: str) -> str:
    return COLOURS[1] if colour == COLOURS[0] else COLOURS[0]


def target_colour(state: DeployState) -> str:
    """The colour a deploy goes to: the idle one (blue on the first deploy)."""
    return COLOURS[0] if state.live is None else other(state.live)


def plan_deploy(state: DeployState, release: str, command: tuple[str, ...], ports: dict[str, int]) -> Plan:
    """Deploy ``release`` (run by ``command``) to the idle colour; ``ports``: each colour's API port."""
    new = target_colour(state)
    incoming = ColourState(new, release, ports[new], command=command)
    actions = []
    if _running(state, new):
        actions.append(Action(Step.STOP, new))  # the release before last, kept only for a rollback
    actions += [Action(Step.MIGRATE, new, incoming), Action(Step.START, new, incoming),
                Action(Step.AWAIT_HEALTH, new), Action(Step.SWITCH, new)]
    if state.live is not None and _running(state, state.live):
        actions.append(Action(Step.DRAIN, state.live))
    return Plan(actions, on_failure=[Action(Step.STOP, new)])


def plan_rollback(state: DeployState) -> Plan:
    if state.live is None:
        raise DeployError("nothing is deployed: there is nothing to roll back")
    previous = other(state.live)
    kept = state.colours.get(previous)
    if kept is None or not kept.api_pid:
        raise DeployError(f"the {previous} colour no longer runs: deploy the previous release instead")
    return Plan(
        [Action(Step.START_WORKERS, previous), Action(Step.AWAIT_HEALTH, previous), Action(Step.SWITCH, previous),
         Action(Step.DRAIN, state.live)],
        on_failure=[],
    )


def _running(state: DeployState, colour: str) -> bool:
    found = state.colours.get(colour)
    return found is not None and bool(found.api_pid or found.worker_pid)


class Runtime(Protocol):
    """Where colours run: local process groups here; containers behind a load balancer in production."""

    def migrate(self, colour: ColourState) -> None: ...
    def start(self, colour: ColourState) -> ColourState: ...
    def start_workers(self, colour: ColourState) -> ColourState: ...
    def healthy(self, colour: ColourState) -> bool: ...
    def switch(self, colour: ColourState) -> None: ...
    def drain(self, colour: ColourState) -> ColourState: ...
    def stop(self, colour: ColourState) -> ColourState: ...


@dataclass
class Deployer:
    """Carries out a plan through ``runtime``, recording every change with ``save``."""

    runtime: Runtime
    save: Callable[[DeployState], None]
    health_timeout: float = 60.0
    poll_seconds: float = 0.5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def deploy(self, state: DeployState, release: str, command: tuple[str, ...], ports: dict[str, int]) -> DeployState:
        log.info("deploying %s to %s (live: %s)", release, target_colour(state), state.live or "nothing")
        return self.run(plan_deploy(state, release, command, ports), state)

    def rollback(self, state: DeployState) -> DeployState:
        plan = plan_rollback(state)
        log.info("rolling back from %s to %s", state.live, other(state.live or COLOURS[0]))
        return self.run(plan, state)

    def run(self, plan: Plan, state: DeployState) -> DeployState:
        try:
            for action in plan.actions:
                state = self._do(action, state)
        except Exception as exc:
            log.error("%s; traffic stays on %s", exc, state.live or "nothing")
            for action in plan.on_failure:
                state = self._do(action, state)
            raise DeployError(str(exc)) from exc
        return state

    def _do(self, action: Action, state: DeployState) -> DeployState:
        colour = action.incoming or state.colours.get(action.colour)
        if colour is None:  # undoing a deploy that failed before its colour existed
            return state
        log.info("%s %s (%s)", action.step.value, action.colour, colour.release)
        if action.step is Step.MIGRATE:
            self.runtime.migrate(colour)
        elif action.step is Step.AWAIT_HEALTH:
            self._await_health(colour)
        elif action.step is Step.SWITCH:
            self.runtime.switch(colour)
            state = replace(state, live=action.colour)
        else:
            change = {Step.START: self.runtime.start, Step.START_WORKERS: self.runtime.start_workers,
                      Step.DRAIN: self.runtime.drain, Step.STOP: self.runtime.stop}[action.step]
            state = replace(state, colours={**state.colours, action.colour: change(colour)})
        self.save(state)
        return state

    def _await_health(self, colour: ColourState) -> None:
        deadline = self.clock() + self.health_timeout
        while not self.runtime.healthy(colour):
            if self.clock() >= deadline:
                raise DeployError(f"{colour.colour} ({colour.release}) was not healthy within "
                                  f"{self.health_timeout:.0f} s")
            self.sleep(self.poll_seconds)
