"""The API behaves as its OpenAPI document says: schemathesis, every check, every operation, 0 failures.

One run per credential set (the admin key, an agent's token and vendor, none),
each with every phase (examples, coverage, fuzzing, stateful) and every check
schemathesis has, against the real app over the real PostgreSQL and Redis, in
this process (no socket). Deterministic: the data is derived from the schema,
not from a random seed, and no example database carries state between runs.
A failure prints schemathesis' own report (with a ``curl`` per failing case).

``make conformance`` runs the same, randomised and longer, to search deeper
(``CONFORMANCE_MAX_EXAMPLES``, default 100 there; ``CONFORMANCE_SEED=<seed>``
replays the run whose report printed that seed).
"""

from __future__ import annotations

import os
import re

import jsonschema
import pytest
from schemathesis.python import asgi

from tests.conformance import runner
from tests.conformance.conftest import Target

pytestmark = pytest.mark.integration

MAX_EXAMPLES = int(os.environ.get("CONFORMANCE_MAX_EXAMPLES", "10"))
"""Per operation and phase; with 10 the three runs take about 60 s together on the development machine."""
RANDOM = os.environ.get("CONFORMANCE_RANDOM", "") == "1"
"""``make conformance``: random data (the report prints the seed) instead of the fixed, derived data."""
SEED = int(os.environ["CONFORMANCE_SEED"]) if os.environ.get("CONFORMANCE_SEED") else None
"""Replays a random run: the seed its report printed."""


@pytest.mark.timeout(240 if not (RANDOM or SEED) else 0)
@pytest.mark.parametrize("credentials", ["admin", "agent", "none"])
def test_the_api_conforms_to_its_openapi_document(target: Target, credentials: str) -> None:
    config = runner.config(
        target.credentials[credentials], seed=SEED, max_examples=MAX_EXAMPLES, deterministic=not (RANDOM or SEED)
    )
    result = runner.run(target.app, config)
    assert result.ok, f"schemathesis ({credentials} credentials) found failures:\n\n{result.report}"
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", result.report)
    assert selected is not None and selected[1] == selected[2], result.report  # every operation, none filtered


def test_every_operation_is_documented_with_id_summary_examples_and_problem_errors(target: Target) -> None:
    with asgi.get_client(target.app) as client:
        document = client.get("/schema/openapi.json").json()
    operation_ids: list[str] = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "delete", "patch"}:
                continue
            where = f"{method.upper()} {path}"
            operation_ids.append(operation["operationId"])
            assert operation.get("summary"), where
            body = operation.get("requestBody")
            if body is not None:
                (media,) = body["content"].values()
                assert media.get("examples"), f"{where}: no request example"
            for status, response in operation["responses"].items():
                for content_type, media in (response.get("content") or {}).items():
                    assert media.get("examples") or "example" in media, (where, status, content_type)
                    for example in (media.get("examples") or {}).values():  # each one is a valid answer
                        schema = {**media["schema"], "components": document["components"]}
                        jsonschema.Draft202012Validator(schema).validate(example["value"])
                if int(status) >= 400:
                    (content_type,) = response["content"]
                    assert content_type == "application/problem+json", (where, status)
                    media = response["content"][content_type]
                    assert media["schema"] == {"$ref": "#/components/schemas/Problem"}, (where, status)
                    assert media["examples"], (where, status)
            if path != "/health":
                assert "503" in operation["responses"], where
    assert len(operation_ids) == len(set(operation_ids)), "operation ids must be unique"
    for name, schema in document["components"]["schemas"].items():
        if name.endswith("Request") or name.endswith("Push") or name.endswith("In") or name == "MappingUpdate":
            assert schema.get("additionalProperties") is False, name
