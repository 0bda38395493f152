"""Agents benchmark: authenticated heartbeats per second on ONE API process, token cache vs bcrypt.

The same run starts the real API (uvicorn, one process, ``bench_app`` below) twice
against a scratch database and Redis prefix: once as configured (bcrypt once per
token, then the Redis token cache) and once with the cache disabled, so every
request verifies its token with bcrypt. A separate load-generator process keeps
``CONCURRENCY`` keep-alive connections busy with ``POST /api/agents/heartbeat``
for ``AGENTS`` registered agents and counts 200 answers in the measured window.
Rate limits are switched off (``RATE_LIMITS_ENABLED=false``); the machine's other
load (PostgreSQL, Redis, the load generator itself) is shared by both modes.

Goal (issue 3): cached rate >= 50 x the bcrypt-per-request rate.

    python -m bench agents            # or: make bench BENCH_ARGS=agents
    BENCH_SECONDS=10 python -m bench agents
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench import BENCH_DENIED_NETWORKS

GOAL_RATIO = 50.0
AGENTS = int(os.environ.get("BENCH_AGENTS", "50"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "1.5"))
MEASURE_SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[1]
MODE_ENV = "BENCH_AGENT_AUTH"


# ---------------------------------------------------------------- the server side


class _NoTokenCache:
    """Recognises nothing: every agent request is verified with bcrypt (the baseline)."""

    async def recognises(self, vendor_id: str, token: str) -> bool:
        return False

    async def stamp(self, vendor_id: str) -> str:
        return "0"

    async def remember(self, vendor_id: str, token: str, stamp: str) -> None:
        return None

    async def forget(self, vendor_id: str) -> None:
        return None


def bench_app() -> Any:
    """uvicorn ``--factory`` target: the real app; ``BENCH_AGENT_AUTH=bcrypt`` disables the token cache."""
    from restosync_adapters.bootstrap import bootstrap
    from restosync_adapters.logging import configure_logging
    from restosync_adapters.settings import Settings
    from restosync_http.app import create_app

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    overrides: dict[str, Any] = {}
    if os.environ.get(MODE_ENV) == "bcrypt":
        overrides["token_cache"] = _NoTokenCache()
    return create_app(bootstrap(settings, **overrides))


# ---------------------------------------------------------------- the load generator (its own process)


def _request(vendor: str, token: str) -> bytes:
    return (
        "POST /api/agents/heartbeat HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {token}\r\nX-Vendor-ID: {vendor}\r\nContent-Length: 0\r\n\r\n"
    ).encode("ascii")


async def _connection(port: int, requests: list[bytes], start: float, end: float, counts: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.perf_counter() < end:
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            done = time.perf_counter()
            counts["all"] = counts.get("all", 0) + 1
            if start <= done <= end:  # completions in the window: throughput in steady state
                key = "ok" if status == 200 else f"status_{status}"
                counts[key] = counts.get(key, 0) + 1
    finally:
        writer.close()


async def _load(port: int, agents: list[list[str]], concurrency: int, warmup: float, seconds: float) -> dict[str, Any]:
    counts: dict[str, int] = {}
    start = time.perf_counter() + warmup
    end = start + seconds
    per_connection = [
        [_request(v, t) for v, t in agents[k::concurrency] or agents[k % len(agents) : k % len(agents) + 1]]
        for k in range(concurrency)
    ]
    await asyncio.gather(*(_connection(port, reqs, start, end, counts) for reqs in per_connection))
    return {"seconds": seconds, **counts}


def _load_main(argv: list[str]) -> None:
    port, concurrency, warmup, seconds = int(argv[0]), int(argv[1]), float(argv[2]), float(argv[3])
    agents = json.loads(sys.stdin.read())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_load(port, agents, concurrency, warmup, seconds))))


# ---------------------------------------------------------------- orchestration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url(name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _server_env(db_url: str, prefix: str, mode: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENV": "production",
        "AGENT_URL_DENIED_NETWORKS": BENCH_DENIED_NETWORKS,
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "RATE_LIMITS_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "AGENT_SECRET": "bench-agent-secret-0123456789",
        "API_SECRET": "bench-api-secret-0123456789-0123456789",
        MODE_ENV: mode,
    }


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "bench.agents:bench_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--no-access-log", "--log-level", "warning",
    ]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stderr.read().decode()[-2000:] if server.stderr else ""
            raise RuntimeError(f"the API did not start: {output}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code in (200, 503):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.terminate()
    raise RuntimeError("the API did not answer /health within 30 s")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _register(port: int, env: dict[str, str], count: int) -> list[list[str]]:
    import httpx

    agents = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for i in range(count):
            vendor, token = f"bench-{i:04d}", secrets.token_urlsafe(32)
            answer = http.post(
                "/api/agents/register",
                json={"vendorId": vendor, "agentUrl": "http://127.0.0.1:9/agent", "authToken": token},
                headers={"Authorization": f"Bearer {env['AGENT_SECRET']}"},
            )
            if answer.status_code not in (200, 201):
                raise RuntimeError(f"registration failed: {answer.status_code} {answer.text}")
            agents.append([vendor, token])
    return agents


def _warm_cache(port: int, agents: list[list[str]]) -> None:
    """One heartbeat per agent so the measured window holds no first-time bcrypt (cached mode)."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        for vendor, token in agents:
            http.post("/api/agents/heartbeat", headers={"Authorization": f"Bearer {token}", "X-Vendor-ID": vendor})


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux), to report CPU per request next to the rate."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(port: int, agents: list[list[str]], server_pid: int) -> dict[str, Any]:
    cpu_before = _cpu_seconds(server_pid)
    load = subprocess.run(
        [sys.executable, "-m", "bench.agents", "--load", str(port), str(CONCURRENCY),
         str(WARMUP_SECONDS), str(MEASURE_SECONDS)],
        cwd=ROOT, input=json.dumps(agents).encode(), capture_output=True, check=True, timeout=MEASURE_SECONDS + 120,
    )
    result: dict[str, Any] = json.loads(load.stdout)
    result["rate"] = result.get("ok", 0) / result["seconds"]
    result["cpu_us"] = 1e6 * (_cpu_seconds(server_pid) - cpu_before) / max(1, result.get("all", 0))
    return result


def _run_mode(
    db_url: str, prefix: str, mode: str, agents: list[list[str]] | None
) -> tuple[dict[str, Any], list[list[str]]]:
    env = _server_env(db_url, prefix, mode)
    port = _free_port()
    server = _start_server(env, port)
    try:
        if agents is None:
            agents = _register(port, env, AGENTS)
        if mode == "cached":
            _warm_cache(port, agents)
        return _measure(port, agents, server.pid), agents
    finally:
        _stop_server(server)


def run() -> bool:
    import psycopg
    from psycopg import sql

    from bench.scratch import remove_scratch
    from restosync_adapters.postgres.migrate import migrate

    name = f"restosync_bench_{uuid.uuid4().hex[:8]}"
    prefix = f"restosync-bench-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = _database_url(name)
    try:
        migrate(db_url)
        cached, agents = _run_mode(db_url, prefix, "cached", None)
        baseline, _ = _run_mode(db_url, prefix, "bcrypt", agents)
    finally:
        remove_scratch(ADMIN_URL, REDIS_URL, name, prefix)
    ratio = cached["rate"] / baseline["rate"] if baseline["rate"] else float("inf")
    met = ratio >= GOAL_RATIO
    print(f"  one API process, {AGENTS} agents, {CONCURRENCY} connections, {MEASURE_SECONDS:g} s measured per mode")
    for label, result in (("token cache:       ", cached), ("bcrypt per request:", baseline)):
        print(
            f"  authenticated heartbeats/s, {label} {result['rate']:9.1f}"
            f"   (API process CPU {result['cpu_us']:7.0f} us/request) {_errors(result)}"
        )
    print(f"  ratio {ratio:.1f}x (goal >= {GOAL_RATIO:g}x): {'met' if met else 'NOT met'}")
    return met


def _errors(result: dict[str, Any]) -> str:
    bad = {k: v for k, v in result.items() if k.startswith("status_")}
    return f"(non-200: {bad})" if bad else ""


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        _load_main(sys.argv[2:])
    else:
        raise SystemExit(0 if run() else 1)
