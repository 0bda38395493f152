"""``restosync deploy`` and ``restosync rollback`` with two real colours of local process groups.

Each colour is a ``restosync api`` and a ``restosync worker`` process group. The switch
hook (``switch_probe``) asks the colour traffic was just switched to for its /health,
as the reverse proxy would: it must already answer 200.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from restosync_adapters.settings import Settings
from restosync_cli import main
from restosync_cli.bluegreen import DeployState
from restosync_cli.colours import StateFile, alive
from tests.deploy.conftest import process_env
from tests.e2e.conftest import free_port


@pytest.fixture
def deploy_dir(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The deploy state directory; the colours run on this test's database and Redis key space."""
    for name, value in process_env(settings).items():
        monkeypatch.setenv(name, value)
    yield tmp_path
    state = StateFile(tmp_path).load()
    for colour in state.colours.values():
        for pid in (colour.api_pid, colour.worker_pid):
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def deploy(deploy_dir: Path, release: str, ports: tuple[int, int], *extra: str) -> int:
    return main(["deploy", release, "--state-dir", str(deploy_dir), "--blue-port", str(ports[0]),
                 "--green-port", str(ports[1]), "--health-timeout", "30",
                 "--switch-hook", f"{sys.executable} -m tests.deploy.switch_probe {deploy_dir}", *extra])


def health(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def upstream(deploy_dir: Path) -> str:
    return (deploy_dir / "upstream").read_text().strip()


def switches(deploy_dir: Path) -> list[str]:
    return (deploy_dir / "switches.log").read_text().splitlines()


def state(deploy_dir: Path) -> DeployState:
    return StateFile(deploy_dir).load()


def test_deploy_switches_after_health_drains_the_old_workers_and_rollback_is_one_command(deploy_dir: Path) -> None:
    blue, green = free_port(), free_port()
    assert deploy(deploy_dir, "v1", (blue, green)) == 0
    assert upstream(deploy_dir) == f"http://127.0.0.1:{blue}"
    assert (deploy_dir / "upstream.conf").read_text() == f"server 127.0.0.1:{blue};\n"

    assert deploy(deploy_dir, "v2", (blue, green)) == 0
    assert upstream(deploy_dir) == f"http://127.0.0.1:{green}"
    assert switches(deploy_dir) == [f"http://127.0.0.1:{blue} 200", f"http://127.0.0.1:{green} 200"]
    after = state(deploy_dir)
    assert after.live == "green" and after.colours["green"].release == "v2"
    assert not alive(after.colours["blue"].worker_pid or -1)  # drained
    assert health(blue) == 200  # blue's API kept, out of traffic, for a rollback
    assert alive(after.colours["green"].worker_pid)

    assert main(["rollback", "--state-dir", str(deploy_dir), "--health-timeout", "30",
                 "--switch-hook", f"{sys.executable} -m tests.deploy.switch_probe {deploy_dir}"]) == 0
    back = state(deploy_dir)
    assert back.live == "blue" and upstream(deploy_dir) == f"http://127.0.0.1:{blue}"
    assert switches(deploy_dir)[-1] == f"http://127.0.0.1:{blue} 200"
    assert alive(back.colours["blue"].worker_pid) and not back.colours["green"].worker_pid


def test_a_new_colour_that_never_becomes_healthy_leaves_the_old_one_serving(
    deploy_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blue, green = free_port(), free_port()
    assert deploy(deploy_dir, "v1", (blue, green)) == 0
    before = state(deploy_dir)

    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # v2 is misconfigured: /health 503
    assert deploy(deploy_dir, "v2", (blue, green), "--health-timeout", "6") == 1

    assert upstream(deploy_dir) == f"http://127.0.0.1:{blue}"
    assert switches(deploy_dir) == [f"http://127.0.0.1:{blue} 200"]  # never switched to green
    after = state(deploy_dir)
    assert after.live == "blue" and after.colours["blue"] == before.colours["blue"]
    assert health(blue) == 200 and alive(after.colours["blue"].worker_pid)
    assert after.colours["green"].api_pid == 0 and health(green) == 0  # the failed colour is stopped
    assert main(["rollback", "--state-dir", str(deploy_dir)]) == 1  # nothing to roll back to
