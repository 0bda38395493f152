"""A client that hangs up mid-request is logged as such (499), not as a server error."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from litestar import post
from litestar.params import JSONBody

from restosync_adapters.logging import configure_logging
from restosync_http.app import create_app
from restosync_http.dto.base import Dto
from tests.fakes import FakeClock, FakeDatabase
from tests.unit.services import unit_services


class Note(Dto):
    text: str


@post("/test/notes", status_code=201)
async def take_note(data: JSONBody[Note]) -> dict[str, str]:
    return {"text": data.text}


def _call(app: Any, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One request through the whole ASGI app; ``messages`` are what the client sends, in order."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/test/notes", "raw_path": b"/test/notes", "root_path": "", "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8000),
    }
    incoming = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _access_lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(ln) for ln in capfd.readouterr().err.splitlines() if ln.startswith("{")]
    return [ln for ln in lines if ln.get("event") == "request"]


def test_a_client_gone_before_its_body_ended_is_logged_499_and_no_error(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    app = create_app(unit_services(FakeDatabase(), FakeClock()), manage_services=False, extra_routes=[take_note])
    capfd.readouterr()

    _call(app, [{"type": "http.request", "body": b'{"text": "half', "more_body": True}, {"type": "http.disconnect"}])
    err = capfd.readouterr().err
    (access,) = [json.loads(ln) for ln in err.splitlines() if ln.startswith("{") and '"request"' in ln]
    assert access["status"] == 499 and access["client_disconnected"] is True
    assert '"level": "error"' not in err  # nothing to alarm an operator

    # The same request, whole: answered and logged as usual.
    body = b'{"text": "whole"}'
    sent = _call(app, [{"type": "http.request", "body": body, "more_body": False}])
    assert sent[0]["status"] == 201
    (access,) = _access_lines(capfd)
    assert access["status"] == 201 and "client_disconnected" not in access
