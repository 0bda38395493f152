"""Property on the real stack: resolve in one app equals a direct PostgreSQL read, whatever the writes in another."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingResult, MappingType
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.mappings.helpers import on_app_loop

BASE = "/api/admin/mappings"
codes = st.sampled_from(["A", "B"])
types = st.sampled_from(["unit", "vat"])
row = st.fixed_dictionaries({
    "mappingType": types,
    "erpCode": codes,
    "restoCode": st.sampled_from(["r1", "r2"]),
    "isActive": st.booleans(),
})
ops = st.lists(
    st.one_of(
        st.tuples(st.just("create"), row),
        st.tuples(st.just("update"), st.integers(0, 5), row),
        st.tuples(st.just("delete"), st.integers(0, 5)),
        st.tuples(st.just("seed"), st.lists(row, max_size=3, unique_by=lambda r: (r["mappingType"], r["erpCode"]))),
        st.tuples(st.just("resolve")),
    ),
    max_size=12,
)
ALL_KEYS = [(MappingType(t), c) for t in ("unit", "vat") for c in ("A", "B")]
"""Every read asks for every key of the vendor, so any stale cache entry shows."""


def direct_read(url: str, vendor: str, key: tuple[str, str]) -> MappingResult | None:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT resto_code, resto_label FROM erp_code_mappings "
            "WHERE vendor_id = %s AND mapping_type = %s::mapping_type AND erp_code = %s AND is_active",
            (vendor, *key),
        ).fetchone()
    return MappingResult(*found) if found else None


def test_resolve_in_one_app_always_equals_a_direct_read_after_writes_through_another(
    clean_db: str, redis_ns: str
) -> None:
    env = make_settings(clean_db, redis_ns, RATE_LIMITS_ENABLED="false")
    headers = {"X-API-Key": env.api_secret}
    services_b = bootstrap(env)
    with TestClient(create_app(bootstrap(env))) as a, TestClient(create_app(services_b)) as b:

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(ops)
        def check(sequence: list[tuple[Any, ...]]) -> None:
            vendor = f"v-{uuid.uuid4().hex[:12]}"  # each example starts from an empty vendor
            ids: list[str] = []
            for op in sequence:
                if op[0] == "create":
                    created = a.post(BASE, json={**op[1], "vendorId": vendor}, headers=headers)
                    assert created.status_code in (201, 409), created.text
                    if created.status_code == 201:
                        ids.append(created.json()["id"])
                elif op[0] == "update" and ids:
                    answer = a.put(f"{BASE}/{ids[op[1] % len(ids)]}", json={**op[2], "vendorId": vendor},
                                   headers=headers)
                    assert answer.status_code in (200, 409), answer.text
                elif op[0] == "delete" and ids:
                    gone = ids.pop(op[1] % len(ids))
                    assert a.delete(f"{BASE}/{gone}", headers=headers).status_code == 200
                elif op[0] == "seed":
                    body = {"mappings": [{**r, "vendorId": vendor} for r in op[1]]}
                    assert a.post(f"{BASE}/seed", json=body, headers=headers).status_code == 200
                elif op[0] == "resolve":
                    answers = on_app_loop(b, services_b.mapping_resolver.resolve_many, VendorId(vendor), ALL_KEYS)
                    assert answers == {k: direct_read(clean_db, vendor, (k[0].value, k[1])) for k in ALL_KEYS}

        check()
