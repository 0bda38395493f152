"""The OpenAPI document as the API really behaves: every status, its content type, closed request bodies.

Litestar generates the document from the route handlers; :func:`finish_openapi`
then completes it in one pass, from what each handler declares:

- **Errors are problem details.** Every error answer is
  ``application/problem+json`` with the one shared ``Problem`` schema (Litestar's
  own 400, ``application/json`` with its ``ValidationException`` shape, is
  replaced).
- **Every status a route can answer is listed**, derived from the route itself
  rather than written out per route: 401 when a guard checks credentials, 400
  when it takes parameters or a body, 413 when it takes a body (the app's
  body limit), 429 when a rate limit applies (the per-IP global limit applies
  to every route but ``GET /health`` and the order flow), 503 when it needs the
  database or Redis (all but ``GET /health``, which answers its own 503 body).
  What only the handler knows (404, 403, 409, a 413 of its own) it declares
  with ``responses=problems(...)`` in its decorator.
- **Request bodies are closed**: every body is a ``Dto`` (msgspec
  ``forbid_unknown_fields``), so its schema says ``additionalProperties: false``;
  a ``Dto`` may add keywords msgspec cannot state (``openapi_extra``, e.g.
  ``minProperties``).
- **Examples**: each problem answer carries an example; request bodies carry
  the example their DTO gives (``openapi_example``); each answer one built
  from its schema (``example_of``: the fields' own examples, else fixed values).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIResponse, Reference, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.routes import HTTPRoute

from restosync_http.dto.base import Problem
from restosync_http.errors import PROBLEM_JSON, TITLES, problem_type
from restosync_http.guards import agent_guard, api_key_guard, registration_guard
from restosync_http.rate_limit import OPT_LIMITS, OPT_NO_GLOBAL

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.handlers import HTTPRouteHandler
    from litestar.openapi.spec import OpenAPI, Operation

PROBLEM_REF = Reference(ref="#/components/schemas/Problem")

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    title="Problem",
    description="RFC 9457 problem details: the body of every error answer.",
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="The kind of error, a URI under "
                       "https://restosync.dev/problems/ (e.g. `.../validation-failed`)."),
        "title": Schema(type=OpenAPIType.STRING, description="The status's reason phrase."),
        "status": Schema(type=OpenAPIType.INTEGER, description="The HTTP status, again."),
        "detail": Schema(type=OpenAPIType.STRING, description="What went wrong, naming the parameter and its limit."),
        "instance": Schema(type=OpenAPIType.STRING, description="The request's path."),
        "requestId": Schema(type=OpenAPIType.STRING, description="The request's id (also `X-Request-ID`)."),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="Details: for a 400 the failing `path` (a JSON path such as `$.items[3].price`, or the "
            "parameter's name) and its `message`.",
            items=Schema(type=OpenAPIType.OBJECT, additional_properties=True),
        ),
    },
)

COMMON_DESCRIPTIONS = {
    400: "a parameter or the body is invalid; `errors[0].path` names it and the message its limit",
    401: "missing or wrong credentials",
    403: "the credentials do not allow this",
    404: "no such resource",
    405: "the path does not take this method",
    409: "the request conflicts with the current state",
    413: "the body is over the limit named in the detail",
    429: "over a rate limit; retry after `Retry-After` seconds",
    503: "the database or Redis is unavailable; nothing was written, retry the request",
}

_CREDENTIAL_GUARDS = (api_key_guard, agent_guard, registration_guard)
_APP_OWN_503 = {("GET", "/health")}
"""Operations whose 503 is their own documented body, not a problem."""


def problems(*statuses: int | tuple[int, str]) -> dict[int, ResponseSpec]:
    """``responses=`` for a route decorator: the error statuses only this handler knows about.

    ``problems(404, (409, "the vendor already has that order number"))``; the
    statuses every route of its kind answers (400, 401, 413, 429, 503) are added
    by :func:`finish_openapi` and need not be listed.
    """
    specs: dict[int, ResponseSpec] = {}
    for item in statuses:
        status, description = item if isinstance(item, tuple) else (item, COMMON_DESCRIPTIONS[item])
        specs[status] = ResponseSpec(
            data_container=Problem, description=description, media_type=PROBLEM_JSON, generate_examples=False
        )
    return specs


def problem_example(status: int, detail: str) -> dict[str, Any]:
    code = {400: "validation-failed", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
            409: "conflict", 413: "payload-too-large", 429: "rate-limited", 503: "service-unavailable"}
    return {
        "type": problem_type(code.get(status, TITLES.get(status, "error"))),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": "/api/...",
        "requestId": "0b9e2a3c-1d4f-4a5b-8c6d-7e8f9a0b1c2d",
    }


def _problem_response(status: int, description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={
            PROBLEM_JSON: OpenAPIMediaType(
                schema=PROBLEM_REF,
                examples={str(status): Example(value=problem_example(status, description))},
            )
        },
    )


def _common_statuses(method: str, path: str, handler: HTTPRouteHandler, operation: Operation) -> Iterator[int]:
    """The statuses a route answers because of what it is (guarded, takes input, rate limited, stateful)."""
    own = (method, path) in _APP_OWN_503
    guards = [getattr(guard, "func", guard) for guard in handler.resolve_guards()]  # sync ones come wrapped
    if any(guard in guards for guard in _CREDENTIAL_GUARDS):
        yield 401
    if operation.parameters or operation.request_body:
        yield 400
    if operation.request_body:
        yield 413
    opt = handler.opt or {}
    if opt.get(OPT_LIMITS) or not (opt.get(OPT_NO_GLOBAL) or own):
        yield 429
    if not own:
        yield 503


def _is_problem(response: OpenAPIResponse | Reference) -> bool:
    return isinstance(response, OpenAPIResponse) and PROBLEM_JSON in (response.content or {})


def _complete_operation(method: str, path: str, handler: HTTPRouteHandler, operation: Operation) -> None:
    responses = operation.responses if operation.responses is not None else {}
    for status in _common_statuses(method, path, handler, operation):
        existing = responses.get(str(status))
        if existing is None or not _is_problem(existing):
            responses[str(status)] = _problem_response(status, COMMON_DESCRIPTIONS[status])
    for key, response in list(responses.items()):
        status = int(key)
        if status >= 400 and isinstance(response, OpenAPIResponse):
            description = response.description if _is_problem(response) else COMMON_DESCRIPTIONS.get(status, "")
            responses[key] = _problem_response(status, description)
    operation.responses = dict(sorted(responses.items()))
    _request_example(operation, handler)


def _request_example(operation: Operation, handler: HTTPRouteHandler) -> None:
    body = operation.request_body
    if body is None or isinstance(body, Reference):
        return
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is not None and data.has_default:
        body.required = False  # an optional body (the heartbeat's)
    example = None
    for annotation in (getattr(data, "annotation", None), *getattr(data, "args", ())):
        example = example or getattr(annotation, "openapi_example", None)
    if example is None:
        return
    for media in (body.content or {}).values():
        media.examples = {"default": Example(summary="a valid body", value=example)}


NUL = Schema(type=OpenAPIType.STRING, pattern="\u0000")
"""What no string the API reads may hold: PostgreSQL text cannot store NUL, so every one is a 400."""


FAR_OFFSET = Schema(type=OpenAPIType.STRING, pattern="[+-](?:1[6-9]|2[0-9]):[0-9]{2}$")
"""A date-time the API refuses although RFC 3339 allows it: an offset beyond ±15:59, which PostgreSQL cannot store."""


def _refuse_nul(schema: Schema | Reference | None) -> None:
    """Say of every string in ``schema`` (nested ones too) that it holds no NUL: ``not: {pattern: "\\u0000"}``."""
    stack: list[Schema | Reference | None] = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, Schema):
            continue
        if node.format == OpenAPIFormat.DATE_TIME and node.schema_not is None:
            node.schema_not = FAR_OFFSET  # (a query parameter's: on its oneOf of string and null)
        elif node.type == OpenAPIType.STRING and node.schema_not is None and node.enum is None and node.const is None:
            node.schema_not = NUL
        stack.extend(node.one_of or ())
        stack.extend(node.any_of or ())
        stack.extend(node.all_of or ())
        stack.extend((node.properties or {}).values())
        if isinstance(node.items, (Schema, Reference)):
            stack.append(node.items)
        if isinstance(node.additional_properties, (Schema, Reference)):
            stack.append(node.additional_properties)


def json_value_schema(depth: int, description: str) -> Schema:
    """Any JSON object whose strings (keys too) hold no NUL, nesting at most ``depth`` levels of objects and
    arrays (itself included), spelt out level by level: the document stays free of recursive references."""
    scalars: list[Schema | Reference] = [
        Schema(type=OpenAPIType.NULL), Schema(type=OpenAPIType.BOOLEAN), Schema(type=OpenAPIType.NUMBER),
        Schema(type=OpenAPIType.STRING, schema_not=NUL),
    ]
    inner: Schema | None = None
    for _ in range(depth):
        values = Schema(any_of=[*scalars, *([] if inner is None else [inner])])
        array = Schema(type=OpenAPIType.ARRAY, items=values)
        obj = Schema(type=OpenAPIType.OBJECT, property_names=Schema(type=OpenAPIType.STRING, schema_not=NUL),
                     additional_properties=values)
        inner = Schema(any_of=[obj, array])
    assert inner is not None and inner.any_of is not None
    top = inner.any_of[0]
    assert isinstance(top, Schema)
    top.description = description
    return top


def _closed_structs() -> dict[str, type[msgspec.Struct]]:
    """Every msgspec struct that refuses unknown fields (each ``Dto``, the wire rows), by class name."""
    found: dict[str, type[msgspec.Struct]] = {}
    stack: list[type[msgspec.Struct]] = [msgspec.Struct]
    while stack:
        cls = stack.pop()
        if cls.__struct_config__.forbid_unknown_fields:
            found[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    return found


def _close_schemas(openapi: OpenAPI) -> None:
    schemas = openapi.components.schemas if openapi.components and openapi.components.schemas else {}
    closed = _closed_structs()
    for name, schema in schemas.items():
        cls = closed.get(name)
        if cls is None or schema.properties is None:
            continue
        schema.additional_properties = False
        extra: dict[str, Any] = getattr(cls, "openapi_extra", {})
        for key, value in extra.items():
            if key == "properties":  # {wire name: {Schema attribute: value}}: narrower documented rules
                for prop, attributes in value.items():
                    if isinstance(attributes, Schema):  # the whole property, spelt out
                        schema.properties[prop] = attributes
                        continue
                    target = schema.properties[prop]
                    for attribute, setting in attributes.items():
                        setattr(target, attribute, setting)
            else:
                setattr(schema, key, value)
        _refuse_nul(schema)
    schemas["Problem"] = PROBLEM_SCHEMA


def _shadowing_segments(paths: Collection[str]) -> dict[tuple[str, int], list[str]]:
    """For each path parameter (path, index of its segment): the static segments other paths have there.

    ``/api/agents/{vendor_id}`` cannot reach a vendor named ``register``: the
    router takes ``/api/agents/register`` (and answers 405 to a GET). Only a
    route of the same length shadows: ``/api/admin/metrics/reconciliation``
    still reaches ``/api/admin/metrics/{vendor_id}``.
    """
    split = {path: path.strip("/").split("/") for path in paths}
    shadowed: dict[tuple[str, int], list[str]] = {}
    for path, segments in split.items():
        for index, segment in enumerate(segments):
            if not segment.startswith("{"):
                continue
            words = sorted({
                other[index] for other in split.values()
                if len(other) == len(segments) and other[:index] == segments[:index]
                and not other[index].startswith("{")
            })
            if words:
                shadowed[(path, index)] = words
    return shadowed


def _exclude_shadowed(path: str, operation: Operation, shadowed: dict[tuple[str, int], list[str]]) -> None:
    segments = path.strip("/").split("/")
    for parameter in operation.parameters or ():
        if isinstance(parameter, Reference) or parameter.param_in != "path":
            continue
        index = segments.index("{" + parameter.name + "}")
        words = shadowed.get((path, index))
        if words and isinstance(parameter.schema, Schema):
            schema = copy.copy(parameter.schema)  # one handler may serve several paths: each its own words
            schema.schema_not = Schema(enum=list(words))
            parameter.schema = schema
            parameter.description = (
                f"{parameter.description or ''} Not {', '.join(f'`{w}`' for w in words)}: another route of "
                "this path takes that segment."
            ).strip()
            # ... and answers this method with a 405 when it does not take it
            responses = operation.responses if operation.responses is not None else {}
            responses.setdefault("405", _problem_response(405, "the value is another route's segment, which "
                                                               "does not take this method"))
            operation.responses = dict(sorted(responses.items()))


@dataclass
class JsonExample(Example):
    """An ``Example`` whose value is written as given: Litestar drops every null inside a value (an answer's
    ``"restoLabel": null`` would vanish, and the example would no longer match its schema)."""

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        if self.value is not None:
            schema["value"] = self.value
        return schema


def _keep_nulls(media: OpenAPIMediaType) -> None:
    for name, example in list((media.examples or {}).items()):
        if type(example) is Example:
            media.examples[name] = JsonExample(**{f.name: getattr(example, f.name) for f in fields(Example)})  # type: ignore[index]


_FIXED = {
    OpenAPIFormat.UUID: "0b9e2a3c-1d4f-4a5b-8c6d-7e8f9a0b1c2d",
    OpenAPIFormat.DATE_TIME: "2026-01-15T09:30:00Z",
}


def example_of(schema: Schema | Reference | None, components: dict[str, Schema], depth: int = 0) -> Any:
    """A value of ``schema`` built from its own examples, enums and defaults (fixed values otherwise):
    the example of an answer, derived from its schema so the two cannot disagree."""
    if isinstance(schema, Reference):
        return example_of(components.get(schema.ref.rsplit("/", 1)[-1]), components, depth)
    if schema is None or depth > 8:
        return None
    if schema.examples:
        return schema.examples[0]
    if schema.enum:
        return schema.enum[0]
    if schema.const is not None:
        return schema.const
    if schema.default is not None:
        return schema.default
    if schema.all_of:  # a reference with a description of its own: {"allOf": [ref], "description": ...}
        parts = [example_of(part, components, depth + 1) for part in schema.all_of]
        if all(isinstance(part, dict) for part in parts):
            return {k: v for part in parts for k, v in part.items()}
        return parts[0]
    for choices in (schema.one_of, schema.any_of):
        if choices:
            typed = [c for c in choices if not (isinstance(c, Schema) and c.type == OpenAPIType.NULL)]
            return example_of((typed or list(choices))[0], components, depth + 1)
    kind = schema.type[0] if isinstance(schema.type, Sequence) and not isinstance(schema.type, str) else schema.type
    if schema.properties is not None or kind == OpenAPIType.OBJECT:
        return {name: example_of(value, components, depth + 1) for name, value in (schema.properties or {}).items()}
    if kind == OpenAPIType.ARRAY:
        item = example_of(schema.items if not isinstance(schema.items, bool) else None, components, depth + 1)
        return [] if item is None else [item]
    if kind == OpenAPIType.STRING:
        return _FIXED.get(schema.format, "text")  # type: ignore[arg-type]
    if kind in (OpenAPIType.INTEGER, OpenAPIType.NUMBER):
        return schema.minimum if schema.minimum is not None else 1
    if kind == OpenAPIType.BOOLEAN:
        return True
    return None


def _examples(operation: Operation, components: dict[str, Schema]) -> None:
    """An example for each answer that has none (built from its schema); nulls kept in every example."""
    body = operation.request_body
    for media in (body.content or {}).values() if isinstance(body, RequestBody) else ():
        _keep_nulls(media)
    for key, response in (operation.responses or {}).items():
        if not isinstance(response, OpenAPIResponse):
            continue
        for media in (response.content or {}).values():
            if media.examples is None and media.example is None and media.schema is not None:
                media.examples = {key: Example(summary="an answer", value=example_of(media.schema, components))}
            _keep_nulls(media)


def finish_openapi(app: Litestar) -> None:
    """Complete the app's generated OpenAPI document in place (see the module's docstring)."""
    openapi = app.openapi_schema
    shadowed = _shadowing_segments(list(openapi.paths or {}))
    components = openapi.components.schemas if openapi.components and openapi.components.schemas else {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (openapi.paths or {}).get(route.path_format or "/")
        if path_item is None:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = getattr(path_item, method.lower(), None)
                if operation is not None:
                    _complete_operation(method, route.path_format, handler, operation)
                    _exclude_shadowed(route.path_format, operation, shadowed)
                    _examples(operation, components)
                    for parameter in operation.parameters or ():
                        if not isinstance(parameter, Reference):
                            _refuse_nul(parameter.schema)
    _close_schemas(openapi)
