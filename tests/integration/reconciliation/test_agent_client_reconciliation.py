"""HttpxAgentClient's reconciliation calls against the test agent over real HTTP.

The fake agent (``tests/fake_agent.py``) answers from an ``ErpSimulator``: the
documented vectors come back from it as docs/agent-protocol.md shows them, the
client's checksums equal ``digest_parts`` over the simulator's rows, rows round
trip, and every way an answer can break the protocol is ``AgentRefused`` naming
what was wrong (the agent's ``tamper`` hook rewrites answers), never a crash.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from restosync_adapters.agent_client import MAX_RESPONSE_BYTES, HttpxAgentClient
from restosync_adapters.outbound_signing import signed_headers
from restosync_core.errors import AgentRefused, AgentUnavailable
from restosync_core.model.agents import AgentEndpoint
from restosync_core.model.catalog import Item, StockLevel
from restosync_core.model.reconciliation import ReconciledEntity
from restosync_core.policies.agent_url import AgentUrlPolicy, parse_networks
from restosync_core.policies.content_hash import item_hash, stock_hash
from restosync_core.policies.reconciliation import (
    POSITION_SPACE,
    WHOLE,
    PositionRange,
    RangeDigest,
    digest_parts,
    position,
)
from tests.erp_simulator import ErpSimulator, make_item, make_stock
from tests.fake_agent import FakeAgent
from tests.unit.reconciliation.test_protocol_vectors import (
    EXAMPLE_ANSWER,
    STOCK_CHECKSUM,
    VECTOR_ITEMS,
    VECTOR_STOCK,
)

pytestmark = pytest.mark.anyio

ITEMS, STOCK = ReconciledEntity.ITEMS, ReconciledEntity.STOCK


@dataclass
class Setup:
    erp: ErpSimulator
    agent: FakeAgent
    client: HttpxAgentClient
    endpoint: AgentEndpoint

    async def checksums(self, entity: ReconciledEntity = ITEMS, rng: PositionRange = WHOLE,
                        parts: int = 4) -> list[RangeDigest]:
        return await self.client.checksums(self.endpoint, entity, rng, parts, correlation_id=uuid.uuid4())

    async def rows(self, entity: ReconciledEntity = ITEMS, rng: PositionRange = WHOLE) -> list[Item | StockLevel]:
        return await self.client.rows(self.endpoint, entity, rng, correlation_id=uuid.uuid4())

    def tamper(self, rewrite: Callable[[dict[str, Any]], None]) -> None:
        """Rewrite every following reconciliation answer in place."""
        def apply(path: str, answer: dict[str, Any]) -> dict[str, Any]:
            rewrite(answer)
            return answer
        self.agent.tamper = apply


@pytest.fixture
def erp() -> ErpSimulator:
    erp = ErpSimulator()
    erp.put_many([*VECTOR_ITEMS, *VECTOR_STOCK])
    return erp


@pytest.fixture
def agent(erp: ErpSimulator) -> Iterator[FakeAgent]:
    agent = FakeAgent(erp=erp).start()
    try:
        yield agent
    finally:
        agent.stop()


@pytest.fixture
async def setup(erp: ErpSimulator, agent: FakeAgent) -> AsyncIterator[Setup]:
    client = HttpxAgentClient(timeout_seconds=0.5)
    try:
        yield Setup(erp, agent, client, agent.endpoint())
    finally:
        await client.aclose()


async def get(agent: FakeAgent, url: str) -> httpx.Response:
    """A plain GET to the agent, as any HTTP client would send it (signed, or the agent answers 401)."""
    credential = agent.endpoint().credential
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers=signed_headers(credential, httpx.URL(url).raw_path))


def pairs(erp: ErpSimulator, entity: ReconciledEntity) -> list[tuple[int, str]]:
    if entity is ITEMS:
        return [(position(i.sku), item_hash(i)) for i in erp.items]
    return [(position(s.sku), stock_hash(s)) for s in erp.stock]


# ---------------------------------------------------------------- the vectors, from the fake agent


async def test_the_documented_example_answer_comes_back_from_the_agent_byte_for_byte(setup: Setup) -> None:
    response = await get(setup.agent, f"{setup.agent.url}/sync/checksum?entity=items&from=0&to=4294967296&parts=4")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == EXAMPLE_ANSWER
    assert list(response.json()) == ["entity", "from", "to", "count", "checksum", "parts"]
    assert response.content == json.dumps(EXAMPLE_ANSWER).encode()  # the same bytes, as the fake writes JSON
    digests = await setup.checksums(ITEMS, WHOLE, 4)
    assert [{"count": d.count, "checksum": d.checksum} for d in digests] == EXAMPLE_ANSWER["parts"]


async def test_the_stock_vector_and_the_defaults(setup: Setup) -> None:
    answer = (await get(setup.agent, f"{setup.agent.url}/sync/checksum?entity=stock")).json()
    assert answer == {"entity": "stock", "from": 0, "to": POSITION_SPACE, "count": 2, "checksum": STOCK_CHECKSUM,
                      "parts": [{"count": 2, "checksum": STOCK_CHECKSUM}]}
    assert await setup.checksums(STOCK, WHOLE, 1) == [RangeDigest(2, STOCK_CHECKSUM)]
    empty = await setup.checksums(ITEMS, PositionRange(0, 1000), 1)
    assert empty == [RangeDigest(0, "0" * 64)]


async def test_checksums_of_random_ranges_and_parts_equal_digest_parts_over_the_erp(setup: Setup) -> None:
    setup.erp.fill(400, warehouses=("WH-1", "WH-2"))
    rnd = random.Random(20261204)
    for _ in range(40):
        start = rnd.randrange(POSITION_SPACE)
        end = rnd.choice([POSITION_SPACE, rnd.randint(start + 1, POSITION_SPACE), min(start + 300, POSITION_SPACE)])
        rng = PositionRange(start, end)
        parts = rnd.randint(1, min(256, rng.width))
        for entity in (ITEMS, STOCK):
            assert await setup.checksums(entity, rng, parts) == digest_parts(rng, parts, pairs(setup.erp, entity))


async def test_rows_round_trip_items_and_stock(setup: Setup) -> None:
    setup.erp.fill(200, warehouses=("WH-1",))
    cafe_at = position("CAFÉ-7")
    for rng in (WHOLE, PositionRange(0, POSITION_SPACE // 3), PositionRange(cafe_at, cafe_at + 1)):
        items = await setup.rows(ITEMS, rng)
        expected_items = {i for i in setup.erp.items if rng.contains(position(i.sku))}
        assert len(items) == len(expected_items) and set(items) == expected_items
        assert all(isinstance(i, Item) for i in items)
        stock = await setup.rows(STOCK, rng)
        assert set(stock) == {s for s in setup.erp.stock if rng.contains(position(s.sku))}
        assert all(isinstance(s, StockLevel) for s in stock)
    cafe = next(i for i in await setup.rows(ITEMS) if i.sku == "CAFÉ-7")
    assert isinstance(cafe, Item) and item_hash(cafe) == item_hash(VECTOR_ITEMS[1])  # escapes and É intact


async def test_the_calls_carry_the_contract_headers_and_parameters(setup: Setup) -> None:
    correlation_id = uuid.uuid4()
    await setup.client.checksums(setup.endpoint, STOCK, PositionRange(10, 17), 3, correlation_id=correlation_id)
    slash = AgentEndpoint(setup.agent.url + "/", setup.endpoint.credential)
    await setup.client.rows(slash, ITEMS, PositionRange(1975234000, 1975235000),
                            correlation_id=correlation_id)
    await setup.client.rows(setup.endpoint, STOCK, PositionRange(0, 5), correlation_id=correlation_id)
    assert [r.path for r in setup.agent.requests] == [
        "/sync/checksum?entity=stock&from=10&to=17&parts=3",
        "/sync/items?from=1975234000&to=1975235000",
        "/sync/stock?from=0&to=5",
    ]
    for r in setup.agent.requests:
        assert r.headers["authorization"] == f"Bearer {setup.endpoint.credential.token}"
        assert r.headers["x-correlation-id"] == str(correlation_id)
        assert r.headers["accept"] == "application/json"
    assert setup.erp.calls[0] == ("checksum", "stock", 10, 17, 3)


# ---------------------------------------------------------------- failures


async def test_a_denied_address_is_refused_without_calling(agent: FakeAgent) -> None:
    policy = AgentUrlPolicy(denied_networks=parse_networks("127.0.0.0/8"))
    client = HttpxAgentClient(timeout_seconds=0.5, url_policy=policy)
    try:
        with pytest.raises(AgentRefused, match="denied network"):
            await client.checksums(agent.endpoint(), ITEMS, WHOLE, 4, correlation_id=uuid.uuid4())
        with pytest.raises(AgentRefused, match="denied network"):
            await client.rows(agent.endpoint(), STOCK, WHOLE, correlation_id=uuid.uuid4())
    finally:
        await client.aclose()
    assert agent.requests == []


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
async def test_a_5xx_408_or_429_is_unavailable(setup: Setup, status: int) -> None:
    setup.agent.fail_with(status)
    with pytest.raises(AgentUnavailable, match=f"answered {status}"):
        await setup.checksums()
    with pytest.raises(AgentUnavailable, match=f"answered {status}"):
        await setup.rows(STOCK)


async def test_an_agent_that_does_not_answer_in_time_or_is_down_is_unavailable(setup: Setup) -> None:
    setup.agent.hang()
    with pytest.raises(AgentUnavailable, match="did not answer in time"):
        await setup.checksums()
    setup.agent.accept()
    setup.agent.down()
    with pytest.raises(AgentUnavailable, match="could not be reached"):
        await setup.rows()


@pytest.mark.parametrize("status", [404, 400, 401])
async def test_a_4xx_is_refused_with_its_status(setup: Setup, status: int) -> None:
    setup.agent.fail_with(status)
    with pytest.raises(AgentRefused, match=f"answered {status}") as caught:
        await setup.rows()
    assert caught.value.status_code == status


async def test_parameters_out_of_bounds_are_a_400_problem_naming_the_limit(setup: Setup) -> None:
    base = f"{setup.agent.url}/sync"
    for query, named, says in [
        ("/checksum?entity=warehouses", "entity", "items or stock"),
        ("/checksum", "entity", "items or stock"),
        ("/checksum?entity=items&parts=0", "parts", "between 1 and 256"),
        ("/checksum?entity=items&parts=257", "parts", "between 1 and 256"),
        ("/checksum?entity=items&from=10&to=17&parts=8", "parts", "between 1 and 7"),
        ("/checksum?entity=items&from=5&to=5", None, "0 <= from < to <= 4294967296"),
        ("/items?to=4294967297", None, "0 <= from < to <= 4294967296"),
        ("/stock?from=-1", "from", "decimal integer"),
        ("/stock?from=x", "from", "decimal integer"),
    ]:
        response = await get(setup.agent, base + query)
        assert response.status_code == 400, query
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 400 and says in problem["detail"], (query, problem)
        if named:
            assert problem["errors"][0]["path"] == named, (query, problem)
    with pytest.raises(AgentRefused, match=r"answered 400.*parts must be between 1 and 1"):
        await setup.checksums(ITEMS, PositionRange(5, 6), 2)


# ---------------------------------------------------------------- answers that break the protocol


def _drop_last_part(answer: dict[str, Any]) -> None:
    answer["parts"].pop()


@pytest.mark.parametrize(
    ("rewrite", "message"),
    [
        (_drop_last_part, "the agent's checksum answer has 3 parts, 4 were asked"),
        (lambda a: a["parts"][1].update(checksum=a["parts"][1]["checksum"].upper()), r"\$\.parts\[1\]\.checksum"),
        (lambda a: a["parts"][2].update(checksum="ab" * 31), r"\$\.parts\[2\]\.checksum"),
        (lambda a: a["parts"][0].update(count=-1), r"\$\.parts\[0\]\.count: Expected `int` >= 0"),
        (lambda a: a["parts"][0].update(count="1"), r"\$\.parts\[0\]\.count"),
        (lambda a: a.update(checksum="z" * 64), r"\$\.checksum"),
        (lambda a: a.update(extra=1), r"\$\.extra: unknown field"),
        (lambda a: a["parts"][3].update(colour="red"), r"\$\.parts\[3\]\.colour: unknown field"),
        (lambda a: a.pop("count"), "missing required field `count`"),
        (lambda a: a.update(entity="stock"), "is for 'stock', 'items' was asked"),
        (lambda a: a.update(to=17), r"is for the range \[0, 17\), \[0, 4294967296\) was asked"),
        (lambda a: a.update(count=3), "says count 3 .* but its parts add up to count 2"),
        (lambda a: a.update(checksum="0" * 64), "but its parts add up to count 2 and checksum b84da598"),
    ],
)
async def test_a_checksum_answer_that_breaks_the_protocol_is_refused_naming_the_problem(
    setup: Setup, rewrite: Callable[[dict[str, Any]], None], message: str
) -> None:
    setup.tamper(rewrite)
    with pytest.raises(AgentRefused, match=message):
        await setup.checksums(ITEMS, WHOLE, 4)


@pytest.mark.parametrize(
    ("entity", "rewrite", "message"),
    [
        (ITEMS, lambda a: a["items"][0].update(price="12345678901"), r"\$\.items\[0\]\.price: Expected `str` matching"),
        (ITEMS, lambda a: a["items"][1].update(price=2.5), r"\$\.items\[1\]\.price: Expected `str`, got `float`"),
        (ITEMS, lambda a: a["items"][0].update(sku="S" * 65), r"\$\.items\[0\]\.sku: Expected `str` of length <= 64"),
        (ITEMS, lambda a: a["items"][0].update(name=""), r"\$\.items\[0\]\.name"),
        (ITEMS, lambda a: a["items"][1].update(colour="red"), r"\$\.items\[1\]\.colour: unknown field"),
        (ITEMS, lambda a: a["items"][0].pop("updatedAt"), r"\$\.items\[0\]: Object missing required field `updatedAt`"),
        (ITEMS, lambda a: a["items"][0].update(updatedAt="2026-12-01T08:00:00"), r"\$\.items\[0\]\.updatedAt"),
        (ITEMS, lambda a: a["items"][0].update(vendorId="acme"), r"\$\.items\[0\]\.vendorId: unknown field"),
        (ITEMS, lambda a: a["items"][1].update(barcode="a\x00b"),
         r"\$\.items\[1\]\.barcode: strings may not contain NUL"),
        (ITEMS, lambda a: a.update(stock=[]), r"\$\.stock: unknown field"),
        (ITEMS, lambda a: a.update(items={}), r"\$\.items: Expected `array`"),
        (STOCK, lambda a: a["stock"][0].update(quantity="1e3"), r"\$\.stock\[0\]\.quantity: Expected `str` matching"),
        (STOCK, lambda a: a["stock"][1].update(warehouseId=None), r"\$\.stock\[1\]\.warehouseId"),
        (STOCK, lambda a: a["stock"][1].update(active=True), r"\$\.stock\[1\]\.active: unknown field"),
    ],
)
async def test_a_rows_answer_with_a_bad_row_is_refused_naming_its_path(
    setup: Setup, entity: ReconciledEntity, rewrite: Callable[[dict[str, Any]], None], message: str
) -> None:
    setup.tamper(rewrite)
    with pytest.raises(AgentRefused, match=message):
        await setup.rows(entity)


async def test_a_row_the_erp_holds_against_the_push_rules_is_refused(setup: Setup) -> None:
    setup.erp.put_item(make_item("TOO-DEAR", price=Decimal("12345678901.5")))
    with pytest.raises(AgentRefused, match=r"\$\.items\[\d+\]\.price"):
        await setup.rows(ITEMS)
    setup.erp.put_stock(make_stock("A\x00B", "WH-1", Decimal(1)))
    with pytest.raises(AgentRefused, match=r"\$\.stock\[\d+\]\.sku: strings may not contain NUL"):
        await setup.rows(STOCK)


async def test_an_answer_that_is_not_json_is_refused(setup: Setup) -> None:
    setup.agent.tamper = lambda path, answer: {"items": float("nan")}  # json.dumps writes NaN: not JSON
    with pytest.raises(AgentRefused, match="the agent's items answer is not JSON"):
        await setup.rows(ITEMS)


async def test_an_answer_over_1_mib_is_refused_naming_the_limit(setup: Setup) -> None:
    assert MAX_RESPONSE_BYTES == 1024 * 1024
    setup.erp.fill(8000)
    with pytest.raises(AgentRefused, match="larger than 1048576 bytes"):
        await setup.rows(ITEMS)
    assert len(await setup.checksums(ITEMS, WHOLE, 256)) == 256  # a full checksum answer stays far below it
