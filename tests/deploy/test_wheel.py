"""The built wheel, installed in a fresh virtualenv outside the repository, is a working ``restosync``.

The wheel is built from a copy of the source (nothing is written into the tree) and
installed without its dependencies; those come from the project's own virtualenv
through a plain path in a ``.pth`` file (no network, and the project's editable
install is not activated: that needs ``site`` to process its ``.pth``, which a path
entry does not). So every ``restosync`` module and every migration file the new
virtualenv imports comes from the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import uuid
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from restosync_adapters.postgres.migrate import MIGRATIONS_DIR
from restosync_adapters.settings import Settings
from tests.conftest import create_database, drop_database
from tests.deploy.conftest import ROOT, process_env
from tests.e2e.conftest import free_port, wait_until

SOURCES = ["pyproject.toml", "README.md", "migrations", "restosync_core", "restosync_adapters",
           "restosync_http", "restosync_worker", "restosync_cli"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel`` of a copy of the source tree, built with the pinned setuptools (no build isolation)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(src)],
        check=True, cwd=out,
    )
    (built,) = out.glob("restosync-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv (outside the repository) with the wheel installed; answers its bin/ directory."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
         str(wheel)],
        check=True, cwd=env_dir,
    )
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir / "bin"


@pytest.fixture
def fresh_db() -> Iterator[str]:
    name = f"restosync_wheel_{uuid.uuid4().hex[:10]}"
    url = create_database(name)
    yield url
    drop_database(name)


def test_the_wheel_holds_every_package_and_every_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("restosync_core", "restosync_adapters", "restosync_http", "restosync_worker", "restosync_cli"):
        packaged = {n for n in names if n.startswith(f"{package}/") and n.endswith(".py")}
        in_tree = {p.relative_to(ROOT).as_posix() for p in (ROOT / package).rglob("*.py")}
        assert in_tree <= packaged, f"missing from the wheel: {sorted(in_tree - packaged)}"
    shipped = {n.removeprefix("restosync_migrations/") for n in names if n.startswith("restosync_migrations/")}
    assert {p.name for p in MIGRATIONS_DIR.glob("*.sql")} <= shipped
    assert not any(n.startswith(("tests/", "bench/", "migrations/")) for n in names)


def test_restosync_from_the_installed_wheel_uses_the_wheel_not_the_source_tree(installed: Path) -> None:
    answer = subprocess.run(
        [str(installed / "python"), "-c",
         "import restosync_cli, restosync_migrations; print(restosync_cli.__file__); "
         "print(restosync_migrations.__file__)"],
        check=True, capture_output=True, text=True, cwd=installed,
    ).stdout.split()
    for path in answer:
        assert Path(path).is_relative_to(installed.parent), answer
    usage = subprocess.run([str(installed / "restosync"), "--help"], capture_output=True, text=True, cwd=installed)
    assert usage.returncode == 0
    assert "{migrate,api,worker,scheduler,run,deploy,rollback}" in usage.stdout


def test_installed_restosync_migrates_a_new_database_works_the_queues_and_serves_health(
    installed: Path, fresh_db: str, settings: Settings
) -> None:
    env = process_env(settings, DATABASE_URL=fresh_db)
    migrated = subprocess.run([str(installed / "restosync"), "migrate"], env=env, cwd=installed,
                              capture_output=True, text=True, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    with psycopg.connect(fresh_db) as conn:
        applied = [r[0] for r in conn.execute("SELECT filename FROM schema_migrations ORDER BY filename")]
    assert applied == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))

    worker = subprocess.run([str(installed / "restosync"), "worker", "--burst"], env=env, cwd=installed,
                            capture_output=True, text=True, timeout=60)
    assert worker.returncode == 0 and "all workers stopped" in worker.stderr, worker.stderr[-3000:]

    port = free_port()
    api = subprocess.Popen([str(installed / "restosync"), "api", "--port", str(port)], env=env, cwd=installed,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        health = wait_until(lambda: _ok(httpx.get(f"http://127.0.0.1:{port}/health")), 30, "/health = 200")
        assert health.json()["info"]["database"] == {"status": "up"}
    finally:
        api.terminate()
        api.wait(30)


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code == 200, response.text
    return response
