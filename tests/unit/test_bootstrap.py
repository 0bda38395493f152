"""The composition root: an override is what every use case gets; an unknown one is refused; nothing connects."""

from __future__ import annotations

import pytest

from restosync_adapters.bootstrap import OVERRIDABLE, bootstrap
from tests.fakes import FakeClock, FakeDatabase
from tests.fakes.catalog import FakeMappingResolver
from tests.fakes.orders import FakeJobQueue
from tests.unit.services import UNIT_SETTINGS, unit_services


def test_an_overridden_port_is_the_one_the_use_cases_get() -> None:
    resolver, queue = FakeMappingResolver(), FakeJobQueue()
    services = unit_services(FakeDatabase(), FakeClock(), mapping_resolver=resolver, queue=queue)
    assert services.ingest_items.mappings is resolver
    assert services.mapping_resolver is resolver
    assert services.queue is queue


def test_an_unknown_override_is_a_type_error_naming_it_and_the_allowed_ones() -> None:
    with pytest.raises(TypeError) as raised:
        bootstrap(UNIT_SETTINGS, mapping_resolvr=FakeMappingResolver())
    assert "mapping_resolvr" in str(raised.value)
    assert all(name in str(raised.value) for name in OVERRIDABLE)


def test_building_the_real_services_connects_nothing() -> None:
    services = bootstrap(UNIT_SETTINGS)  # hosts that do not resolve: any connection attempt would fail
    assert services.sync_redis is not None
    assert services.pool.closed
