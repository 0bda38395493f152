"""The rows of the push format (docs/agent-protocol.md#rows), as msgspec structs: one definition.

The HTTP shell reads pushes with them (``restosync_http/dto/ingest.py``) and the
agent client reads the rows a reconciliation call answers with them
(``restosync_adapters/agent_client.py``), so a row is held to the same rules
whichever way it arrives: camelCase, unknown fields refused, decimals as
strings checked by pattern (so a bad one is named by its path, e.g.
``$.items[3].price``) before becoming ``Decimal`` (never through a float),
timestamps with an offset. NUL characters are refused by the readers
(``NUL_MESSAGE``): msgspec has no rule for them.

Row structs are ``gc=False``: they hold only strings, decimals, datetimes and
booleans, so they can never be part of a reference cycle, and a 5000-row push
then adds 10,000 fewer objects for the cyclic garbage collector to traverse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

NUL_MESSAGE = "strings may not contain NUL (\\u0000)"

Key = Annotated[str, Meta(min_length=1, max_length=64)]
Name = Annotated[str, Meta(min_length=1, max_length=255)]
Price = Annotated[
    str,
    Meta(pattern=r"^[0-9]{1,10}(\.[0-9]{1,4}0*)?$", examples=["18.50"],
         description="decimal >= 0 as a string, at most 10 digits before the point and 4 after"),
]
Quantity = Annotated[
    str,
    Meta(pattern=r"^-?[0-9]{1,14}(\.[0-9]{1,4}0*)?$", examples=["12.5"],
         description="decimal as a string, at most 14 digits before the point and 4 after"),
]
Timestamp = Annotated[
    datetime, Meta(tz=True, description="RFC 3339 with an offset: when the ERP last changed the row")
]


class WireRow(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True, gc=False):
    """camelCase on the wire; a field the schema does not know is refused."""


class ItemIn(WireRow, gc=False):
    sku: Key
    name: Name
    unit_code: Key
    vat_code: Key
    price: Price
    updated_at: Timestamp
    description: Annotated[str, Meta(max_length=4000)] | None = None
    family_code: Key | None = None
    subfamily_code: Key | None = None
    barcode: Key | None = None
    active: bool = True


class StockIn(WireRow, gc=False):
    sku: Key
    warehouse_id: Key
    quantity: Quantity
    updated_at: Timestamp


class WarehouseIn(WireRow, gc=False):
    warehouse_id: Key
    name: Name
    updated_at: Timestamp
    address: Annotated[str, Meta(max_length=1000)] | None = None
    active: bool = True


def nul_field(row: msgspec.Struct) -> str | None:
    """The wire name of the first string field of ``row`` holding a NUL, or None."""
    for f in msgspec.structs.fields(row):
        value = getattr(row, f.name)
        if isinstance(value, str) and "\x00" in value:
            return f.encode_name
    return None
