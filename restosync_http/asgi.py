"""An ASGI factory for servers started from outside (``uvicorn --factory restosync_http.asgi:app_factory``)."""

from __future__ import annotations

from litestar import Litestar

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.logging import configure_logging
from restosync_adapters.settings import Settings
from restosync_http.app import create_app


def app_factory() -> Litestar:
    settings = Settings.load_or_exit()
    configure_logging(settings.log_level)
    return create_app(bootstrap(settings))
