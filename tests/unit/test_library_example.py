"""The core used as a library: docs/examples/library_example.py runs and does what docs/library.md says."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import restosync_core
from restosync_core import DeliveryOutcome, RowReason

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "library_example.py"
GUIDE = ROOT / "docs" / "library.md"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("library_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_example_ingests_items_and_reads_each_rows_result() -> None:
    results = asyncio.run(load_example().main())

    assert list(results.first_push.reasons) == [None, None, RowReason.UNMAPPED_UNIT]
    assert (results.first_push.processed, results.first_push.failed) == (2, 1)
    assert list(results.second_push.reasons) == [RowReason.UNCHANGED, RowReason.UNCHANGED, RowReason.UNMAPPED_UNIT]


def test_the_example_delivers_an_order_after_the_agent_comes_back() -> None:
    results = asyncio.run(load_example().main())

    assert results.deliveries == [DeliveryOutcome.RETRY_SCHEDULED, DeliveryOutcome.SENT]
    (order,) = results.agent_received
    assert (order["vendorId"], order["orderNumber"]) == ("bistro-1", "A-1")
    assert order["lines"] == [{"sku": "FLOUR", "quantity": "10", "unitPrice": "1.20"}]


def test_the_example_imports_the_core_only_from_its_package() -> None:
    source = EXAMPLE.read_text()

    modules = set(re.findall(r"^(?:from|import) (\S+)", source, re.MULTILINE))
    ours = {m for m in modules if m.startswith(("restosync", "tests"))}

    assert ours == {"restosync_core"}


def test_every_name_the_guide_and_the_example_import_is_exported_by_the_core() -> None:
    imported: set[str] = set()
    for text in (GUIDE.read_text(), EXAMPLE.read_text()):
        for names in re.findall(r"^from restosync_core import (\([^)]*\)|[^\n]*)", text, re.MULTILINE):
            names = re.sub(r"#[^\n]*", "", names).strip("()")
            imported |= {name.strip() for name in names.split(",") if name.strip()}

    assert {"IngestItems", "PlaceOrder", "DeliverOrder", "UnitOfWorkFactory"} <= imported
    assert imported <= set(restosync_core.__all__)
    assert all(hasattr(restosync_core, name) for name in restosync_core.__all__)
