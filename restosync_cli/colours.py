"""Blue-green on one machine: each colour is process groups (``restosync api``, ``restosync worker``).

The deploy state lives in a directory (``state.json``, each process's log), and the
traffic switch writes there too: ``upstream`` (the live API's URL) and
``upstream.conf`` (an nginx ``server`` line to ``include`` in an ``upstream`` block),
each replaced atomically, then an optional hook runs (``nginx -s reload``). A real
load balancer maps the same way: the switch is "point the target group at the
other colour" (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, replace
from pathlib import Path

import httpx

from restosync_cli.bluegreen import ColourState, DeployError, DeployState

STOP_GRACE_SECONDS = 35.0
"""A process group still running this long after SIGTERM is killed (as ``restosync run`` does)."""


class StateFile:
    """``state.json`` in the deploy directory: which colour is live and what runs in each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "state.json"

    def load(self) -> DeployState:
        if not self.path.exists():
            return DeployState()
        raw = json.loads(self.path.read_text())
        colours = {name: ColourState(**{**c, "command": tuple(c["command"])}) for name, c in raw["colours"].items()}
        return DeployState(live=raw["live"], colours=colours)

    def save(self, state: DeployState) -> None:
        body = {"live": state.live, "colours": {name: asdict(c) for name, c in state.colours.items()}}
        _write_atomically(self.path, json.dumps(body, indent=2) + "\n")


class LocalColours:
    """The ``Runtime`` of ``bluegreen`` with each colour as local process groups."""

    def __init__(self, directory: Path, env: dict[str, str], *, host: str = "127.0.0.1",
                 switch_hook: list[str] | None = None, stop_grace: float = STOP_GRACE_SECONDS) -> None:
        self.directory = directory
        self.env = env
        self.host = host
        self.switch_hook = switch_hook
        self.stop_grace = stop_grace

    def migrate(self, colour: ColourState) -> None:
        done = subprocess.run([*colour.command, "migrate"], env=self.env, capture_output=True, text=True,  # noqa: S603
                              check=False)
        if done.returncode != 0:
            raise DeployError(f"migrate with {colour.release} failed: {(done.stderr or done.stdout)[-2000:]}")

    def start(self, colour: ColourState) -> ColourState:
        api = self._spawn(colour, "api", ["api", "--host", self.host, "--port", str(colour.port)])
        return self.start_workers(replace(colour, api_pid=api))

    def start_workers(self, colour: ColourState) -> ColourState:
        if colour.worker_pid and alive(colour.worker_pid):
            return colour
        return replace(colour, worker_pid=self._spawn(colour, "worker", ["worker"]))

    def healthy(self, colour: ColourState) -> bool:
        if not alive(colour.api_pid):
            raise DeployError(f"the {colour.colour} API ({colour.release}) exited; see {self._log(colour, 'api')}")
        try:
            return httpx.get(f"{self.url(colour)}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def switch(self, colour: ColourState) -> None:
        _write_atomically(self.directory / "upstream", self.url(colour) + "\n")
        _write_atomically(self.directory / "upstream.conf", f"server {self.host}:{colour.port};\n")
        if self.switch_hook:
            subprocess.run(self.switch_hook, env=self.env, check=True)  # noqa: S603 - the operator's own command

    def drain(self, colour: ColourState) -> ColourState:
        terminate_group(colour.worker_pid, self.stop_grace)
        return replace(colour, worker_pid=0)

    def stop(self, colour: ColourState) -> ColourState:
        terminate_group(colour.worker_pid, self.stop_grace)
        terminate_group(colour.api_pid, self.stop_grace)
        return replace(colour, api_pid=0, worker_pid=0)

    def url(self, colour: ColourState) -> str:
        return f"http://{self.host}:{colour.port}"

    def _log(self, colour: ColourState, role: str) -> Path:
        return self.directory / f"{colour.colour}-{role}.log"

    def _spawn(self, colour: ColourState, role: str, args: list[str]) -> int:
        with self._log(colour, role).open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - the release's own restosync command
                [*colour.command, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,  # its own process group, outliving this command
            )
        return process.pid


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running restosync process (reaping it first if it is a child of ours that ended).

    A pid recorded before a reboot may belong to anything now: only a process whose command
    line names restosync counts, so nothing else is ever signalled.
    """
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    return state != "Z" and b"restosync" in command


def terminate_group(pid: int, grace: float) -> None:
    """SIGTERM to the process group ``pid`` leads; SIGKILL if it still runs after ``grace`` seconds."""
    if not alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(pid):
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            break
        time.sleep(0.1)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
