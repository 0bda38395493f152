"""Identifier types shared by every area of the model."""

from __future__ import annotations

import re
from typing import NewType
from uuid import UUID

VendorId = NewType("VendorId", str)
AgentId = NewType("AgentId", UUID)
OrderId = NewType("OrderId", UUID)
SyncJobId = NewType("SyncJobId", UUID)
MappingId = NewType("MappingId", UUID)
DeadLetterId = NewType("DeadLetterId", UUID)

VENDOR_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
"""What the agent protocol (docs/agent-protocol.md) allows as a vendor id: 1-64 characters of [A-Za-z0-9._-]."""


def is_valid_vendor_id(value: str) -> bool:
    return bool(VENDOR_ID_PATTERN.fullmatch(value))
