"""Run schemathesis in-process against the real app and answer its CLI report.

The run is the one ``st run`` does (every phase, every check), over the ASGI app
itself (no socket): schemathesis' engine emits its events, the CLI's own output
handler turns them into the familiar report, and the exit code says whether
anything failed.
"""

from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis.cli.commands.run.context import ExecutionContext
from schemathesis.cli.commands.run.handlers.output import OutputHandler
from schemathesis.cli.events import LoadingFinished, LoadingStarted
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import from_schema

SCHEMA_PATH = "/schema/openapi.json"


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    report: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def config(
    headers: dict[str, str],
    *,
    seed: int | None,
    max_examples: int,
    deterministic: bool,
    max_time: float | None = None,
) -> SchemathesisConfig:
    """Every check and every phase; generated data fixed by ``seed`` (and ``deterministic``) when given."""
    data: dict[str, Any] = {
        "color": False,
        "headers": headers,
        "checks": {"enabled": True},
        "generation": {"max-examples": max_examples, "deterministic": deterministic, "database": "none"},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True},
        },
        "cache": {"enabled": False},
        "output": {"sanitization": {"enabled": True}},
    }
    if seed is not None:
        data["seed"] = seed
    if max_time is not None:
        data["max-time"] = max_time
    return SchemathesisConfig.from_dict(data)


def run(app: Any, cfg: SchemathesisConfig) -> RunResult:
    """One schemathesis run against ``app``; its exit code and its report as ``st run`` prints it."""
    schema = schemathesis.openapi.from_asgi(SCHEMA_PATH, app, config=cfg)
    project = schema.config
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        handler = OutputHandler(config=project)
        ctx = ExecutionContext(config=project)
        handler.start(ctx)
        started = LoadingStarted(location=SCHEMA_PATH)
        events = [started, LoadingFinished.from_schema(
            schema, location=SCHEMA_PATH, start_time=started.timestamp or time.monotonic(),
            base_url=schema.get_base_url(),
        )]
        for event in [*events, *from_schema(schema).execute()]:
            ctx.on_event(event)
            handler.handle_event(ctx, event)
        handler.shutdown(ctx)
    return RunResult(exit_code=int(ctx.exit_code), report=out.getvalue())
