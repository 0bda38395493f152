"""What the Dockerfile, docker-compose.yml and the CI workflow promise, read from the files themselves.

``make lint`` checks their syntax (hadolint, actionlint, the compose and workflow schemas);
these tests check the decisions: non-root, one image for every role, a queue-grade Redis,
migrate before everything, no secret in any file, the pipeline's order.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from restosync_cli import main
from restosync_worker.__main__ import parse_queues
from tests.deploy.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
WORKFLOW: dict[str, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
RESTOSYNC_SERVICES = ["migrate", "api", "worker-orders", "worker-reconciliation", "scheduler"]


def test_the_image_builds_a_wheel_then_runs_it_as_a_non_root_user_with_a_health_check() -> None:
    stages = re.findall(r"^FROM \S+ AS (\w+)", DOCKERFILE, re.MULTILINE)
    assert stages == ["build", "runtime"]
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    assert "pip wheel" in DOCKERFILE.split("AS runtime", 1)[0]
    assert "--no-index --find-links /wheels restosync" in runtime
    assert re.search(r"^USER 10001", runtime, re.MULTILINE)
    assert "HEALTHCHECK" in runtime and "/health" in runtime
    assert 'org.opencontainers.image.revision="${GIT_COMMIT}"' in runtime
    assert 'ENTRYPOINT ["restosync"]' in runtime and "STOPSIGNAL SIGTERM" in runtime
    assert "COPY . " not in DOCKERFILE  # only the package sources; .env can never reach the image
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def test_compose_runs_every_role_from_one_image_tagged_with_the_commit_and_secrets_from_the_env_file() -> None:
    services = COMPOSE["services"]
    images = {services[name]["image"] for name in RESTOSYNC_SERVICES}
    assert images == {"${RESTOSYNC_IMAGE:-ghcr.io/restomarket/restosync}:${RESTOSYNC_TAG:?set RESTOSYNC_TAG to "
                      "the git commit to run}"}
    for name in RESTOSYNC_SERVICES:
        assert services[name]["env_file"] == [{"path": ".env", "required": True}]
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://restosync:${POSTGRES_PASSWORD")
    text = (ROOT / "docker-compose.yml").read_text()
    for secret in ("API_SECRET", "AGENT_SECRET", "dev-only"):
        assert secret not in text


def test_compose_redis_keeps_a_queue_and_everything_waits_for_migrate() -> None:
    services = COMPOSE["services"]
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert "redisdata:/data" in services["redis"]["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert services["migrate"]["command"] == ["migrate"] and services["migrate"]["restart"] == "no"
    for name in ["api", "worker-orders", "worker-reconciliation", "scheduler"]:
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["restart"] == "unless-stopped"
    assert services["worker-orders"]["command"] == ["worker", "--queues", "order-sync,image-sync"]
    assert services["worker-reconciliation"]["command"] == ["worker", "--queues", "reconciliation"]
    for name in ["postgres", "redis"]:
        assert services[name]["healthcheck"]["test"]


def test_the_pipeline_lints_then_tests_then_builds_and_pushes_the_commit_image_then_deploys() -> None:
    jobs = WORKFLOW["jobs"]
    assert [jobs[j].get("needs") for j in ("lint", "test", "build", "deploy")] == [None, "lint", "test", "build"]
    assert any(s.get("run") == "make lint" for s in jobs["lint"]["steps"])
    assert set(jobs["test"]["services"]) == {"postgres", "redis"}
    assert any(s.get("run") == "make test" for s in jobs["test"]["steps"])
    build = "\n".join(s.get("run", "") for s in jobs["build"]["steps"])
    assert "make wheel" in build and '-t "$IMAGE:$GITHUB_SHA"' in build and 'docker push "$IMAGE:$GITHUB_SHA"' in build
    assert "restosync deploy $GITHUB_SHA" in jobs["deploy"]["steps"][0]["run"]


def test_ci_script_runs_lint_and_tests() -> None:
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert script.index("make lint") < script.index("make test")


def test_worker_queues_are_named_by_their_logical_names() -> None:
    assert parse_queues("order-sync, image-sync") == ["order-sync", "image-sync"]
    with pytest.raises(Exception, match="unknown queue orders"):
        parse_queues("orders")
    with pytest.raises(SystemExit):
        main(["worker", "--queues", "nope"])
