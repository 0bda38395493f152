"""The API process the ingest benchmark starts: the real app plus one bare baseline route.

    uvicorn --factory bench.ingest_app:app_factory

``app_factory`` builds exactly what production serves (``create_app(bootstrap(
Settings.from_env()))``) and registers ``POST /bench/raw/items``: no agent
auth, no validation, no hashing, no reads, no mapping; it decodes the same
JSON body and runs the raw ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO
UPDATE`` (``bench.ingest_data.RAW_UPSERT``, parameters from ``bare_params``) on the same table, through the same
pool, middleware and server. It is the "bare endpoint" the incremental goals
compare against. ``POST /bench/raw/read-items`` decodes the same body and only
reads the stored hashes of its keys: the baseline of an unchanged re-push.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Litestar, Request, post
from litestar.datastructures import State

from bench.ingest_data import RAW_UPSERT, bare_params
from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.logging import configure_logging
from restosync_adapters.settings import Settings
from restosync_http.app import create_app


class _RawItem(msgspec.Struct, rename="camel"):
    sku: str
    name: str
    unit_code: str
    vat_code: str
    price: str
    updated_at: datetime
    description: str | None = None
    family_code: str | None = None
    subfamily_code: str | None = None
    barcode: str | None = None
    active: bool = True


class _RawPush(msgspec.Struct):
    items: list[_RawItem]


_DECODER = msgspec.json.Decoder(_RawPush)


@post("/bench/raw/items", status_code=200, include_in_schema=False)
async def raw_items(request: Request, state: State, body: bytes) -> dict[str, int]:  # type: ignore[type-arg]
    push = _DECODER.decode(body)
    vendor = request.headers.get("x-vendor-id", "bench-raw")
    rows = [
        (i.sku, i.name, i.description, i.unit_code, i.vat_code, i.family_code, i.subfamily_code, i.price,
         i.barcode, i.active, i.updated_at)
        for i in push.items
    ]
    async with state.services.pool.connection() as conn:
        await conn.execute(RAW_UPSERT, bare_params(vendor, rows))
    return {"written": len(rows)}


READ_VERSIONS = """
SELECT t.sku, t.content_hash, t.erp_updated_at
FROM unnest(%b::text[]) AS k(sku)
JOIN items t ON t.vendor_id = %b AND t.sku = k.sku
"""


@post("/bench/raw/read-items", status_code=200, include_in_schema=False)
async def raw_read_items(request: Request, state: State, body: bytes) -> dict[str, int]:  # type: ignore[type-arg]
    """The baseline of an unchanged re-push: decode the body, read the stored hashes of its keys, no more."""
    push = _DECODER.decode(body)
    vendor = request.headers.get("x-vendor-id", "bench-raw")
    async with state.services.pool.connection() as conn:
        cur = await conn.execute(READ_VERSIONS, ([i.sku for i in push.items], vendor))
        rows = await cur.fetchall()
    return {"read": len(rows)}


def app_factory() -> Litestar:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    app = create_app(bootstrap(settings))
    app.register(raw_items)
    app.register(raw_read_items)
    return app
