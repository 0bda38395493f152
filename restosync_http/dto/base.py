"""The base of every request and response body, and the shared problem and page shapes."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from restosync_core.errors import ValidationFailed

T = TypeVar("T")


class Dto(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """camelCase on the wire; a field the schema does not know is a 400 (REQ-13.6)."""


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details: the one error format of every response."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = msgspec.field(default=None, name="requestId")
    errors: list[dict[str, Any]] | None = None


class PageMeta(msgspec.Struct, kw_only=True):
    page: int
    limit: int
    total: int
    total_pages: int = msgspec.field(name="totalPages")


class Paginated(msgspec.Struct, Generic[T], kw_only=True):
    data: list[T]
    meta: PageMeta


def decode_json(body: bytes, type_: type[T]) -> T:
    """Decode and validate ``body`` in one pass; a bad field is named by its JSON path."""
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = message.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in message else "$"
        raise ValidationFailed(message.split(" - at `")[0] + f" at {path}", path=path) from exc
    except msgspec.DecodeError as exc:
        raise ValidationFailed(f"the body is not valid JSON: {exc}", path="$") from exc
