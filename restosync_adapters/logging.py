"""Structured JSON logs: one line per event, with the request or job ids of its context."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

import structlog
from structlog.typing import EventDict, WrappedLogger

from restosync_core import log_context

_configured = False


def merge_log_context(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """The ids bound with ``bind_context`` (or by a use case through ``restosync_core.log_context``)."""
    for key, value in log_context.current().items():
        event.setdefault(key, value)
    return event


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Route stdlib logging and structlog through one JSON renderer on stderr (idempotent)."""
    global _configured
    shared: list[structlog.types.Processor] = [
        merge_log_context,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not _configured:
        structlog.configure(
            # filter_by_level first: a disabled level costs a level check, not the whole chain.
            processors=[
                structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=True,
        )
        _configured = True


def bind_context(**values: object) -> None:
    """Add ids (request_id, correlation_id, job_id ...) to every log line of this context."""
    log_context.bind(**values)


def clear_context() -> None:
    log_context.clear()


@dataclass
class Outage:
    """Logs once when ``what`` becomes unavailable and once when it is back, never per attempt."""

    log: logging.Logger
    what: str
    since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, doing: str = "retrying with backoff") -> None:
        if self.since is None:
            self.since = time.monotonic()
            first = str(exc).splitlines()[0] if str(exc) else ""
            self.log.warning("%s is unavailable (%s: %s); %s", self.what, type(exc).__name__, first[:200], doing)

    def recovered(self) -> None:
        if self.since is not None:
            self.log.info("%s is back after %.1f s", self.what, time.monotonic() - self.since)
            self.since = None
