"""Stop when the process that started us is gone: no orphans holding the port or a claim.

``restosync run`` starts its children in sessions of their own (a Ctrl-C in the terminal
reaches them once, through the parent), so a parent killed with SIGKILL would leave them
running: the API still bound to its port, workers still claiming jobs. A supervised child
watches its parent instead: a daemon thread compares :func:`os.getppid` with the pid it was
started by, every ``PARENT_POLL_SECONDS``, and when they differ (the parent died and the
child was adopted) sends this process SIGTERM, the same warm stop as a Ctrl-C.

Polling ``getppid`` is portable and needs no ``prctl``; the cost is one system call per
half second.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger("restosync.lifecycle")

PARENT_PID_ENV = "RESTOSYNC_PARENT_PID"
"""Set by ``restosync run`` for its children: the pid they stop without."""
PARENT_POLL_SECONDS = 0.5


def watch_parent(
    parent_pid: int | None = None, *, poll_seconds: float = PARENT_POLL_SECONDS
) -> threading.Thread | None:
    """SIGTERM this process once its parent is no longer ``parent_pid``; ``None``: ``RESTOSYNC_PARENT_PID``.

    Does nothing (returns ``None``) when no parent is named: a shell started on its own, by
    systemd or a container runtime, keeps running whatever its parent does.
    """
    if parent_pid is None:
        named = os.environ.get(PARENT_PID_ENV, "")
        if not named.isdigit():
            return None
        parent_pid = int(named)
    watched = parent_pid

    def watch() -> None:
        stopped = threading.Event()
        while not stopped.wait(poll_seconds):
            if os.getppid() != watched:
                log.warning("parent process %d is gone; stopping", watched)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    thread = threading.Thread(target=watch, name="restosync-parent-watch", daemon=True)
    thread.start()
    return thread
