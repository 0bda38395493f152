"""With Redis unreachable: lookups answer from PostgreSQL, writes are refused and write nothing."""

from __future__ import annotations

import psycopg
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingResult, MappingType
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.mappings.helpers import admin, mapping, on_app_loop

BASE = "/api/admin/mappings"


def test_without_redis_lookups_come_from_the_database_and_writes_fail_closed(clean_db: str, redis_ns: str) -> None:
    settings = make_settings(clean_db, redis_ns, REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMITS_ENABLED="false")
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO erp_code_mappings (vendor_id, mapping_type, erp_code, resto_code) "
            "VALUES ('vendor-1', 'unit', 'KG', 'kilogram')"
        )
    services = bootstrap(settings)
    with TestClient(create_app(services)) as client:
        resolve = services.mapping_resolver.resolve
        assert on_app_loop(client, resolve, VendorId("vendor-1"), MappingType.UNIT, "KG") == MappingResult(
            "kilogram", None
        )
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute("UPDATE erp_code_mappings SET resto_code = 'kg-2'")
        # Nothing is cached while Redis cannot vouch for it: the change is seen at once.
        assert on_app_loop(client, resolve, VendorId("vendor-1"), MappingType.UNIT, "KG") == MappingResult(
            "kg-2", None
        )
        refused = client.post(BASE, json=mapping("L", "litre"), headers=admin(settings))
        assert refused.status_code == 503, refused.text
        seed = client.post(f"{BASE}/seed", json={"mappings": [mapping("M", "metre")]}, headers=admin(settings))
        assert seed.status_code == 503, seed.text
    with psycopg.connect(clean_db) as conn:
        assert conn.execute("SELECT erp_code FROM erp_code_mappings").fetchall() == [("KG",)]
