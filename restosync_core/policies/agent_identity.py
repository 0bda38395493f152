"""Agent identity: an agent acts for the vendor its token proved, and for no other."""

from __future__ import annotations

from restosync_core.errors import Forbidden
from restosync_core.model.ids import VendorId


def ensure_acts_for(acting_vendor: VendorId, named_vendor: str | None, *, what: str = "the request") -> None:
    """Refuse (403) when ``named_vendor`` (from a body or a path) is not the authenticated vendor.

    ``None`` means the request named no vendor, which is always fine: the
    authenticated vendor is implied.
    """
    if named_vendor is not None and named_vendor != acting_vendor:
        raise Forbidden(f"{what} names another vendor than the one this agent token belongs to")
