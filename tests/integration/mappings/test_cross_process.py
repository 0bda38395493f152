"""A write through one API process is used by every other process on its next lookup.

Each "process" here has its own services: its own pools, Redis client and
resolver cache, over the same database and Redis prefix. Two are app instances
in this test process; one is a separate OS process (like a long-lived worker).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from litestar.testing import TestClient

from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.postgres.mappings import PgMappingLookup
from restosync_adapters.settings import Settings
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingResult, MappingType
from restosync_core.ports.mappings import CodeKey
from restosync_core.use_cases.resolve_mappings import CachedMappingResolver
from restosync_http.app import create_app
from tests.conftest import process_env
from tests.integration.mappings.helpers import admin, mapping, on_app_loop
from tests.integration.mappings.resolver_process import CountingLookup

BASE = "/api/admin/mappings"
V1 = VendorId("vendor-1")
KG = (MappingType.UNIT, "KG")
ROOT = Path(__file__).resolve().parents[3]


def counted(services: Services) -> CountingLookup:
    """Give ``services`` a resolver whose database queries are counted (same settings as bootstrap's)."""
    assert services.pool is not None
    lookup = CountingLookup(PgMappingLookup(services.pool))
    services.mapping_resolver = CachedMappingResolver(
        lookup=lookup, invalidation=services.mapping_invalidation, clock=services.clock
    )
    return lookup


@contextmanager
def two_processes(settings: Settings) -> Iterator[tuple[TestClient, TestClient, Services, CountingLookup]]:  # type: ignore[type-arg]
    services_a, services_b = bootstrap(settings), bootstrap(settings)
    lookup_b = counted(services_b)
    with TestClient(create_app(services_a)) as a, TestClient(create_app(services_b)) as b:
        yield a, b, services_b, lookup_b


def resolve_in(client: TestClient, services: Services, key: CodeKey = KG) -> MappingResult | None:  # type: ignore[type-arg]
    return on_app_loop(client, services.mapping_resolver.resolve, V1, *key)


def test_a_create_through_one_app_is_seen_by_the_other_apps_next_lookup(settings: Settings) -> None:
    with two_processes(settings) as (a, b, services_b, lookup_b):
        assert resolve_in(b, services_b) is None  # caches "unmapped"
        assert resolve_in(b, services_b) is None
        assert lookup_b.queries == 1  # the second answer came from B's cache
        assert a.post(BASE, json=mapping(), headers=admin(settings)).status_code == 201
        assert resolve_in(b, services_b) == MappingResult("kilogram", "Kilogramme")


def test_an_update_delete_and_seed_through_one_app_are_each_seen_by_the_other_on_its_next_lookup(
    settings: Settings,
) -> None:
    with two_processes(settings) as (a, b, services_b, lookup_b):
        created = a.post(BASE, json=mapping(), headers=admin(settings)).json()
        assert resolve_in(b, services_b) == MappingResult("kilogram", "Kilogramme")
        a.put(f"{BASE}/{created['id']}", json=mapping(restoCode="kg-2"), headers=admin(settings))
        assert resolve_in(b, services_b) == MappingResult("kg-2", "Kilogramme")
        a.delete(f"{BASE}/{created['id']}", headers=admin(settings))
        assert resolve_in(b, services_b) is None
        a.post(f"{BASE}/seed", json={"mappings": [mapping(restoCode="kg-3")]}, headers=admin(settings))
        assert resolve_in(b, services_b) == MappingResult("kg-3", "Kilogramme")
        queries = lookup_b.queries
        assert resolve_in(b, services_b) == MappingResult("kg-3", "Kilogramme")
        assert lookup_b.queries == queries  # and is cached again once read


def test_the_other_app_really_caches_so_only_invalidation_explains_what_it_sees(settings: Settings) -> None:
    with two_processes(settings) as (a, b, services_b, _):
        a.post(BASE, json=mapping(), headers=admin(settings))
        assert resolve_in(b, services_b) == MappingResult("kilogram", "Kilogramme")
        with psycopg.connect(settings.database_url, autocommit=True) as conn:  # behind the application's back
            conn.execute("UPDATE erp_code_mappings SET resto_code = 'sneaky'")
        assert resolve_in(b, services_b) == MappingResult("kilogram", "Kilogramme")  # B's cache answers
        a.post(BASE, json=mapping("L", "litre"), headers=admin(settings))  # any write for the vendor
        assert resolve_in(b, services_b) == MappingResult("sneaky", "Kilogramme")


def test_resolve_many_on_the_real_database_takes_one_query_for_all_misses_and_none_when_cached(
    settings: Settings,
) -> None:
    with two_processes(settings) as (a, b, services_b, lookup_b):
        rows = [mapping(f"U{i}", f"u{i}") for i in range(20)] + [mapping("T20", "vat-20", mappingType="vat")]
        a.post(f"{BASE}/seed", json={"mappings": rows}, headers=admin(settings))
        keys: list[CodeKey] = [(MappingType.UNIT, f"U{i % 40}") for i in range(3000)] + [(MappingType.VAT, "T20")]
        answers = on_app_loop(b, services_b.mapping_resolver.resolve_many, V1, keys)
        assert lookup_b.queries == 1
        assert len(answers) == 41
        assert answers[(MappingType.UNIT, "U7")] == MappingResult("u7", "Kilogramme")
        assert answers[(MappingType.UNIT, "U27")] is None
        assert answers[(MappingType.VAT, "T20")] == MappingResult("vat-20", "Kilogramme")
        on_app_loop(b, services_b.mapping_resolver.resolve_many, V1, keys)
        assert lookup_b.queries == 1


@contextmanager
def worker_process(settings: Settings) -> Iterator[Any]:
    env = process_env(settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.mappings.resolver_process"],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert json.loads(proc.stdout.readline()) == {"ready": True}

        def ask(erp_code: str = "KG") -> dict[str, Any]:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"vendorId": V1, "mappingType": "unit", "erpCode": erp_code}) + "\n")
            proc.stdin.flush()
            answer: dict[str, Any] = json.loads(proc.stdout.readline())
            return answer

        yield ask
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_write_through_the_api_is_seen_by_a_separate_worker_process_on_its_next_lookup(
    client: TestClient, settings: Settings  # type: ignore[type-arg]
) -> None:
    with worker_process(settings) as ask:
        assert ask() == {"restoCode": None, "restoLabel": None, "queries": 1}
        assert ask()["queries"] == 1  # cached in that process
        created = client.post(BASE, json=mapping(), headers=admin(settings)).json()
        assert ask() == {"restoCode": "kilogram", "restoLabel": "Kilogramme", "queries": 2}
        assert ask()["queries"] == 2
        client.put(f"{BASE}/{created['id']}", json=mapping(restoCode="kg-2"), headers=admin(settings))
        assert ask()["restoCode"] == "kg-2"
        client.delete(f"{BASE}/{created['id']}", headers=admin(settings))
        assert ask()["restoCode"] is None
        client.post(f"{BASE}/seed", json={"mappings": [mapping(restoCode="kg-3")]}, headers=admin(settings))
        assert ask()["restoCode"] == "kg-3"
