"""``restosync api``: serve the HTTP API with uvicorn until SIGTERM or Ctrl-C.

On a stop signal uvicorn stops accepting connections, lets in-flight requests
finish (up to ``--graceful-seconds``), then the app's lifespan closes the
database pool and Redis clients.
"""

from __future__ import annotations

import argparse
import logging
import math

import uvicorn
from litestar import Litestar

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.lifecycle import watch_parent
from restosync_adapters.logging import configure_logging
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from restosync_http.slow_clients import with_deadlines

log = logging.getLogger("restosync.api")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restosync api", description="Serve the restosync HTTP API.")
    parser.add_argument("--host", help="overrides HOST")
    parser.add_argument("--port", type=int, help="overrides PORT")
    parser.add_argument("--graceful-seconds", type=float, default=30.0,
                        help="how long in-flight requests may take to finish on shutdown (default 30)")
    args = parser.parse_args(argv)
    settings = Settings.load_or_exit()
    configure_logging(settings.log_level)
    watch_parent()  # under `restosync run`: stop if it dies
    if settings.uses_dev_secrets:
        log.warning("using the development AGENT_SECRET/API_SECRET; set real ones (refused when ENV=production)")
    serve(create_app(bootstrap(settings)), args.host or settings.host, args.port or settings.port,
          graceful_seconds=args.graceful_seconds, headers_seconds=settings.http_headers_timeout_seconds,
          body_seconds=settings.http_body_timeout_seconds)
    return 0


def serve(
    app: Litestar, host: str, port: int, *, graceful_seconds: float = 30.0, headers_seconds: float = 10.0,
    body_seconds: float = 30.0,
) -> None:
    """Run ``app`` until SIGTERM/SIGINT; in-flight requests get ``graceful_seconds`` to finish. A request's
    headers must arrive within ``headers_seconds``, its body within ``body_seconds`` more (``slow_clients``)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=math.ceil(graceful_seconds),
        loop="uvloop",
        http=with_deadlines(headers_seconds, body_seconds),
    )
    log.info("restosync API listening on http://%s:%s", host, port)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    raise SystemExit(main())
