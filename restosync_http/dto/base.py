"""The base of every request and response body, the shared problem and page shapes, and body decoding.

Every JSON body the API reads goes through ``RawJsonDTO`` (registered for every
``Dto`` by ``RawJsonPlugin``): one msgspec pass, a bad field named by its JSON
path, NUL characters refused wherever they hide, too-deep JSON refused, then the
body's own ``check()``. Any of these is a 400 and nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar

import msgspec
from litestar.dto import AbstractDTO, DTOConfig
from litestar.plugins import SerializationPluginProtocol

from restosync_core.errors import ValidationFailed
from restosync_core.model.ids import VENDOR_ID_PATTERN, VendorId, is_valid_vendor_id

if TYPE_CHECKING:
    from litestar.dto.data_structures import DTOFieldDefinition
    from litestar.openapi.spec import Reference, Schema
    from litestar.typing import FieldDefinition

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

MAX_JSON_DEPTH = 32
"""No body of ours nests deeper (settings stop at 8 levels inside theirs); deeper JSON is a 400."""

NUL_MESSAGE = "strings may not contain NUL (\\u0000)"


class Dto(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """camelCase on the wire; a field the schema does not know is a 400 (REQ-13.6).

    Its OpenAPI schema says so (``additionalProperties: false``, added by
    ``restosync_http.openapi``), with ``openapi_extra``'s keywords (Litestar's
    ``Schema`` attribute names, e.g. ``min_properties``; under ``properties``,
    per wire field) for rules msgspec cannot state, and ``openapi_example`` as
    the request body's example.
    """

    openapi_extra: ClassVar[dict[str, Any]] = {}
    openapi_example: ClassVar[dict[str, Any] | None] = None

    def check(self) -> None:
        """Rules msgspec cannot state (sizes, depths, digits); raise ``ValidationFailed`` naming the path."""


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details: the one error format of every response."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = msgspec.field(default=None, name="requestId")
    errors: list[dict[str, Any]] | None = None


VendorIdField = Annotated[
    str,
    msgspec.Meta(pattern=VENDOR_ID_PATTERN.pattern, description="1-64 characters of [A-Za-z0-9._-]",
                 examples=["vendor-42"]),
]
"""A vendor id in a body (docs/agent-protocol.md); the agents' DTOs describe theirs more closely."""


NOT_BLANK = r"[^\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""The pattern of a string that is not all blank: it holds a character ``str.strip()`` keeps. Spelt out, not
``\\S``: JSON Schema's ``\\s`` (ECMA-262) and Python's differ (``\\x85``, ``\\x1c``-``\\x1f``, ``\\ufeff``)."""
VENDOR_ID_SCHEMA: dict[str, Any] = {
    "pattern": VENDOR_ID_PATTERN.pattern, "minLength": 1, "maxLength": 64, "examples": ["vendor-42"],
}
"""The OpenAPI keywords of a vendor id in a path or query parameter (the rule ``vendor_param`` enforces)."""
UUID_SCHEMA: dict[str, Any] = {"format": "uuid"}


# ---------------------------------------------------------------- reading path and query parameters


def vendor_param(value: str, name: str = "vendorId") -> VendorId:
    """A vendor id from the path or the query, or a 400 naming ``name``."""
    if not is_valid_vendor_id(value):
        raise ValidationFailed(f"{name} must be 1-64 characters of [A-Za-z0-9._-]", path=name)
    return VendorId(value)


def enum_param(enum: type[E], value: str, name: str) -> E:
    """One of ``enum``'s values, or a 400 naming ``name`` (Litestar would name the Python argument instead)."""
    try:
        return enum(value)
    except ValueError as exc:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationFailed(f"{name} must be one of {allowed}", path=name) from exc


def enum_schema(enum: type[StrEnum]) -> dict[str, Any]:
    """The OpenAPI keywords of a query parameter read by ``enum_param``."""
    return {"enum": [member.value for member in enum]}


class PageMeta(msgspec.Struct, kw_only=True):
    page: int
    limit: int
    total: int
    total_pages: int = msgspec.field(name="totalPages")


class Paginated(msgspec.Struct, Generic[T], kw_only=True):
    data: list[T]
    meta: PageMeta


# ---------------------------------------------------------------- decoding

# msgspec (0.22) gives a validation error's path only inside its message ("... - at `$.a[0].b`"):
# ValidationError carries no structured path, so the message is split here, in one place.
_AT_PATH = re.compile(r"^(?P<message>.*) - at `(?P<path>\$[^`]*)`$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`$")
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parent: str, key: str | int) -> str:
    """``$.a`` + ``b`` -> ``$.a.b``; an index or an odd key gets brackets (``$.a[3]``, ``$.a["x y"]``)."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if _PLAIN_NAME.match(key) else f"{parent}[{json.dumps(key)}]"


def decode_json(body: bytes, type_: type[T]) -> T:
    """Decode and validate ``body`` in one pass; a bad field is named by its JSON path."""
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        match = _AT_PATH.match(str(exc))
        message, path = (match["message"], match["path"]) if match else (str(exc), "$")
        unknown = _UNKNOWN_FIELD.match(message)
        if unknown:  # msgspec names the object holding it; clients are told the field's own path
            path = json_path(path, unknown["field"])
            message = f"unknown field `{unknown['field']}`"
        raise ValidationFailed(f"{message} at {path}", path=path) from exc
    except msgspec.DecodeError as exc:
        raise ValidationFailed(f"the body is not valid JSON: {exc}", path="$") from exc
    except RecursionError as exc:
        raise ValidationFailed(f"the body nests deeper than {MAX_JSON_DEPTH} levels", path="$") from exc


def reject_nul(value: object) -> None:
    """400 naming the first string (value or object key) holding a NUL: PostgreSQL text cannot store it.

    Walks structs, lists and dicts without recursion, so a deep value cannot exhaust the stack.
    """
    stack: list[tuple[str, object]] = [("$", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValidationFailed(f"{NUL_MESSAGE} at {path}", path=path)
        elif isinstance(item, msgspec.Struct):
            fields = msgspec.structs.fields(item)
            stack.extend((json_path(path, f.encode_name), getattr(item, f.name)) for f in reversed(fields))
        elif isinstance(item, (list, tuple)):
            stack.extend((json_path(path, i), v) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, dict):
            for key, v in reversed(list(item.items())):
                if isinstance(key, str) and "\x00" in key:
                    raise ValidationFailed(f"{NUL_MESSAGE} in a key of {path}", path=path)
                stack.append((json_path(path, key), v))


class RawJsonDTO(AbstractDTO[T], Generic[T]):
    """Decode the raw body straight into the msgspec struct (one pass, errors named by JSON path).

    Litestar's default for a ``data: Struct`` parameter decodes to builtins and
    then converts (two passes, its own error format, and a deep body overflows
    the stack). This DTO keeps the handler's ``data`` annotation, so the request
    schema still appears in OpenAPI, and hands the bytes to ``decode_json``.
    """

    config: ClassVar[DTOConfig] = DTOConfig()

    def decode_bytes(self, value: bytes) -> Any:
        decoded = decode_json(value, self.model_type)
        if b"\\u0000" in value:  # the only way JSON can carry a NUL, which PostgreSQL text refuses
            reject_nul(decoded)
        if isinstance(decoded, Dto):
            decoded.check()
        return decoded

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        return msgspec.convert(value, self.model_type)

    @classmethod
    def create_for_field_definition(cls, field_definition: FieldDefinition, handler_id: str,
                                    backend_cls: Any = None) -> None:
        """No transfer model to build: msgspec does all the work."""

    @classmethod
    def create_openapi_schema(cls, field_definition: FieldDefinition, handler_id: str,
                              schema_creator: Any) -> Reference | Schema:
        # Any: Litestar passes its SchemaCreator, which it exports only from a private module.
        schema: Reference | Schema = schema_creator.for_field_definition(field_definition)
        return schema

    @classmethod
    def generate_field_definitions(cls, model_type: type[Any]) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False


class RawJsonPlugin(SerializationPluginProtocol):
    """Every ``data: SomeDto`` body is read by ``RawJsonDTO``: one decoding path for the whole API.

    The app sets ``return_dto=None``, so answers are still encoded by msgspec directly.
    """

    def supports_type(self, field_definition: FieldDefinition) -> bool:
        return field_definition.is_subclass_of(Dto)

    def create_dto_for_type(self, field_definition: FieldDefinition) -> type[AbstractDTO[Any]]:
        return RawJsonDTO[field_definition.annotation]  # type: ignore[name-defined]
