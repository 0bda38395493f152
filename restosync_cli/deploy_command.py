"""``restosync deploy RELEASE`` and ``restosync rollback``: blue-green on this machine (``bluegreen``, ``colours``)."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path

from restosync_adapters.logging import configure_logging
from restosync_cli import bluegreen
from restosync_cli.colours import LocalColours, StateFile

log = logging.getLogger("restosync.cli")


def main(name: str, argv: list[str]) -> int:
    """``name`` is ``deploy`` or ``rollback``; answers the exit code."""
    parser = argparse.ArgumentParser(prog=f"restosync {name}", description=bluegreen.__doc__.splitlines()[0]
                                     if bluegreen.__doc__ else None)
    if name == "deploy":
        parser.add_argument("release", help="a name for the release (the git commit), kept in the state")
        parser.add_argument("--command", default=None,
                            help="the release's restosync command (default: this one), e.g. "
                                 "/opt/restosync/<commit>/bin/restosync")
        parser.add_argument("--blue-port", type=int, default=8001)
        parser.add_argument("--green-port", type=int, default=8002)
    parser.add_argument("--state-dir", type=Path, default=Path(os.environ.get("RESTOSYNC_DEPLOY_DIR", ".deploy")),
                        help="deploy state, logs and the upstream files (RESTOSYNC_DEPLOY_DIR, default .deploy)")
    parser.add_argument("--host", default="127.0.0.1", help="where each colour's API listens")
    parser.add_argument("--health-timeout", type=float, default=60.0, help="seconds to wait for /health = 200")
    parser.add_argument("--switch-hook", default=None, help="a command run after each switch (nginx -s reload)")
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    store = StateFile(args.state_dir)
    runtime = LocalColours(args.state_dir, dict(os.environ), host=args.host,
                           switch_hook=shlex.split(args.switch_hook) if args.switch_hook else None)
    deployer = bluegreen.Deployer(runtime, store.save, health_timeout=args.health_timeout)
    try:
        if name == "deploy":
            command = tuple(shlex.split(args.command)) if args.command else (sys.executable, "-m", "restosync_cli")
            state = deployer.deploy(store.load(), args.release, command,
                                    {"blue": args.blue_port, "green": args.green_port})
        else:
            state = deployer.rollback(store.load())
    except bluegreen.DeployError as exc:
        log.error("%s failed: %s", name, exc)
        return 1
    live = state.colours[state.live] if state.live else None
    log.info("%s done: %s live (%s)", name, state.live, live.release if live else "")
    return 0
