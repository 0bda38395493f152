"""The real API server with one extra slow route, for the graceful-shutdown test."""

from __future__ import annotations

import asyncio
import sys

from litestar import get

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.logging import configure_logging
from restosync_adapters.settings import Settings
from restosync_http.__main__ import serve
from restosync_http.app import create_app


@get("/test/slow")
async def slow() -> dict[str, str]:
    await asyncio.sleep(1.5)
    return {"finished": "yes"}


if __name__ == "__main__":
    configure_logging("INFO")
    services = bootstrap(Settings.from_env())
    serve(create_app(services, extra_routes=[slow]), "127.0.0.1", int(sys.argv[1]), graceful_seconds=10)
