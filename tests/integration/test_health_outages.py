"""/health through real outages: Redis or PostgreSQL cut (behind a proxy), then restored."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_http.app import create_app
from tests.conftest import REDIS_URL, make_settings
from tests.tcp_proxy import TcpProxy
from tests.waiting import wait_until


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, f"{netloc[0]}@{host}" if len(netloc) == 2 else host, parts.path, parts.query, ""))


def _poll_status(client: TestClient, want: int, seconds: float = 20.0) -> dict:  # type: ignore[type-arg]
    """The body of the first /health answer with status ``want``."""
    response = wait_until(
        lambda: (r := client.get("/health")).status_code == want and r, seconds, f"/health = {want}", every=0.1
    )
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    parts = urlsplit(REDIS_URL)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379).start()
    yield proxy
    proxy.stop()


def test_redis_down_answers_503_naming_redis_and_recovers_without_restart(
    clean_db: str, redis_ns: str, redis_proxy: TcpProxy
) -> None:
    settings = make_settings(clean_db, redis_ns, REDIS_URL=_via(REDIS_URL, redis_proxy.port))
    with TestClient(create_app(bootstrap(settings))) as client:
        assert _poll_status(client, 200)["status"] == "ok"
        redis_proxy.stop()
        body = _poll_status(client, 503)
        assert body["status"] == "error"
        assert "redis" in body["failing"]
        assert body["error"]["redis"]["status"] == "down"
        assert "database" in body["info"]
        redis_proxy.start()
        assert _poll_status(client, 200)["info"]["redis"]["status"] == "up"


def test_database_down_answers_503_naming_database_and_recovers(clean_db: str, redis_ns: str) -> None:
    parts = urlsplit(clean_db)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    try:
        settings = make_settings(_via(clean_db, proxy.port), redis_ns)
        with TestClient(create_app(bootstrap(settings))) as client:
            assert _poll_status(client, 200)["status"] == "ok"
            proxy.stop()
            body = _poll_status(client, 503)
            assert "database" in body["failing"]
            assert "redis" in body["info"]
            proxy.start()
            assert _poll_status(client, 200)["info"]["database"]["status"] == "up"
    finally:
        proxy.stop()
