"""The API as a real process: graceful shutdown finishes in-flight requests, then closes pools."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from restosync_adapters.settings import Settings
from tests.conftest import process_env
from tests.e2e.conftest import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_lets_in_flight_requests_finish_and_closes_pools(settings: Settings) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.slow_api", str(port)],
        cwd=ROOT, env=process_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/health").status_code == 200, 30, "the API to answer /health")
        result: dict[str, object] = {}

        def call_slow() -> None:
            response = httpx.get(f"{base}/test/slow", timeout=15)
            result["status"], result["body"] = response.status_code, response.json()

        caller = threading.Thread(target=call_slow)
        caller.start()
        wait_until(lambda: proc.poll() is None, 1, "the process")  # still running
        threading.Event().wait(0.3)  # let the slow request reach the handler before the signal
        proc.send_signal(signal.SIGTERM)
        caller.join(timeout=15)
        assert result == {"status": 200, "body": {"finished": "yes"}}
        # uvicorn re-raises the signal once it has shut down cleanly
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read() if proc.stdout else ""
    assert "Application shutdown complete" in output
    assert "closed the database pool" in output
    assert "closed the Redis client" in output
