"""The reconciliation admin API over the real app, PostgreSQL and Redis: trigger, one run, the event log,
a vendor's figures, and their OpenAPI description. No worker runs here: triggered runs stay queued; finished
runs and their events are written straight into the tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg.types.json import Jsonb

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.integration.agent_helpers import admin_headers, register_agent
from tests.integration.ingest.helpers import rows_of

pytestmark = pytest.mark.integration

Client = TestClient  # type: ignore[type-arg]
TRIGGER = "/api/admin/reconciliation/trigger"
EVENTS = "/api/admin/reconciliation/events"
VALIDATION = "https://restosync.dev/problems/validation-failed"
NOW = datetime.now(UTC).replace(microsecond=0)


def _problem(response: Any, status: int, path: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["requestId"] == response.headers["x-request-id"]
    if path is not None:
        assert body["type"] == VALIDATION, body
        assert body["errors"][0]["path"] == path, body
    return body


def _trigger(api: Client, vendor: str, entity: str | None = "all", **extra: Any) -> Any:
    body: dict[str, Any] = {"vendorId": vendor, **extra}
    if entity is not None:
        body["entity"] = entity
    return api.post(TRIGGER, json=body, headers=admin_headers(api))


def _summary(drift: int = 0, repaired: int = 0, *, reason: str | None = None) -> dict[str, Any]:
    entity = {"entity": "items", "databaseRows": 10, "erpRows": 10, "rangesVisited": 1, "agentCalls": 1,
              "rowsCompared": drift, "driftFound": drift, "repaired": repaired, "leftToNewerPush": 0,
              "failed": 0, "inserted": 0, "updated": repaired, "deactivated": 0}
    return {"entities": [entity], "durationMs": 40, "reason": reason, "driftFound": drift, "repaired": repaired,
            "agentCalls": 1, "rangesVisited": 1, "rowsCompared": drift,
            "samples": [{"key": {"sku": "S-1"}}] if drift else []}


def _insert_run(
    url: str, vendor: str, status: str, finished: datetime, *, drift: int = 0, repaired: int = 0,
    scope: str = "items",
) -> str:
    run_id = uuid.uuid4()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO reconciliation_runs (id, vendor_id, scope, trigger, status, correlation_id, requested_at,
                   started_at, finished_at, duration_ms, drift_found, repaired, summary)
               VALUES (%s, %s, %s, 'schedule', %s, %s, %s, %s, %s, 40, %s, %s, %s)""",
            (run_id, vendor, scope, status, run_id, finished - timedelta(seconds=2), finished - timedelta(seconds=1),
             finished, drift, repaired, Jsonb(_summary(drift, repaired))),
        )
    return str(run_id)


def _insert_event(
    url: str, vendor: str, event_type: str, entity: str, created: datetime, run_id: str | None = None
) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """INSERT INTO reconciliation_events (vendor_id, event_type, entity, summary, duration_ms, created_at,
                   run_id)
               VALUES (%s, %s, %s, %s, 7, %s, %s) RETURNING id""",
            (vendor, event_type, entity, Jsonb({"key": {"sku": "S-1"}, "action": "updated"}), created, run_id),
        ).fetchone()
    assert row is not None
    return str(row[0])


# ---------------------------------------------------------------- authentication


def test_every_reconciliation_route_needs_the_admin_key(api: Client) -> None:
    calls = [
        api.post(TRIGGER, json={"vendorId": "vendor-1"}),
        api.get(f"/api/admin/reconciliation/runs/{uuid.uuid4()}"),
        api.get(EVENTS),
        api.get("/api/admin/metrics/reconciliation/vendor-1", headers={"X-API-Key": "wrong"}),
    ]
    for response in calls:
        body = _problem(response, 401)
        assert body["type"] == "https://restosync.dev/problems/unauthenticated"


# ---------------------------------------------------------------- trigger


def test_a_vendor_without_an_agent_cannot_be_reconciled(api: Client, quiet_settings: Settings) -> None:
    body = _problem(_trigger(api, "nobody"), 404)
    assert body["type"] == "https://restosync.dev/problems/not-found" and "nobody" in body["detail"]
    assert rows_of(quiet_settings.database_url, "SELECT id FROM reconciliation_runs") == []


def test_a_trigger_queues_a_run_and_the_same_trigger_answers_it_again(api: Client, quiet_settings: Settings) -> None:
    register_agent(api, "vendor-1")
    correlation = str(uuid.uuid4())
    first = api.post(TRIGGER, json={"vendorId": "vendor-1", "entity": "items"},
                     headers={**admin_headers(api), "X-Correlation-ID": correlation})
    assert first.status_code == 202, first.text
    answer = first.json()
    assert answer["created"] is True and answer["status"] == "queued"
    run = answer["run"]
    assert run["id"] == answer["runId"] and run["vendorId"] == "vendor-1" and run["scope"] == "items"
    assert run["trigger"] == "admin" and run["status"] == "queued" and run["confirmed"] is False
    assert run["correlationId"] == correlation
    assert run["requestedAt"] and run["startedAt"] is None and run["finishedAt"] is None
    assert run["summary"]["entities"] == [] and run["summary"]["samples"] == []

    again = _trigger(api, "vendor-1", "items")
    assert again.status_code == 202, again.text
    assert again.json()["runId"] == answer["runId"] and again.json()["created"] is False
    assert len(rows_of(quiet_settings.database_url, "SELECT id FROM reconciliation_runs")) == 1

    audit = rows_of(quiet_settings.database_url,
                    "SELECT action, entity_id, request_id, details FROM audit_log "
                    "WHERE action = 'reconciliation.trigger'")
    assert sorted(a["details"]["created"] for a in audit) == [False, True]
    assert {a["details"]["runId"] for a in audit} == {answer["runId"]}
    assert all(a["entity_id"] == "vendor-1" and a["request_id"] for a in audit)


def test_entity_defaults_to_all_and_a_correlation_id_that_is_no_uuid_is_replaced(api: Client) -> None:
    register_agent(api, "vendor-1")
    response = api.post(TRIGGER, json={"vendorId": "vendor-1"},
                        headers={**admin_headers(api), "X-Correlation-ID": "not-a-uuid"})
    assert response.status_code == 202, response.text
    run = response.json()["run"]
    assert run["scope"] == "all" and run["correlationId"] == response.headers["x-correlation-id"] != "not-a-uuid"
    given = "5d0c2a6e-8f5b-4c3e-9a55-2b1f0e7d9c41"
    again = api.post(TRIGGER, json={"vendorId": "vendor-1", "entity": "all"},
                     headers={**admin_headers(api), "X-Correlation-ID": given})
    assert again.json()["run"]["id"] == run["id"]  # the same active run, with the id it was queued with
    register_agent(api, "vendor-2")
    other = api.post(TRIGGER, json={"vendorId": "vendor-2"}, headers={**admin_headers(api), "X-Correlation-ID": given})
    assert other.json()["run"]["correlationId"] == given


def test_another_entity_or_a_confirm_while_a_run_is_active_is_a_409_naming_it(api: Client) -> None:
    register_agent(api, "vendor-1")
    active = _trigger(api, "vendor-1", "stock").json()["runId"]
    for response in (_trigger(api, "vendor-1", "items"), _trigger(api, "vendor-1", "stock", confirm=True)):
        body = _problem(response, 409)
        assert body["type"] == "https://restosync.dev/problems/conflict"
        assert body["errors"][0]["runId"] == active and active in body["detail"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"vendorId": "bad vendor"}, "$.vendorId"),
        ({"vendorId": "v" * 65}, "$.vendorId"),
        ({"vendorId": "vendor-1", "entity": "orders"}, "$.entity"),
        ({"vendorId": "vendor-1", "confirm": "yes"}, "$.confirm"),
        ({"vendorId": "vendor-1", "scope": "all"}, "$.scope"),
        ({"entity": "all"}, "$"),
    ],
)
def test_a_bad_trigger_body_is_a_400_naming_its_path(
    api: Client, quiet_settings: Settings, body: dict[str, Any], path: str
) -> None:
    register_agent(api, "vendor-1")
    _problem(api.post(TRIGGER, json=body, headers=admin_headers(api)), 400, path)
    assert rows_of(quiet_settings.database_url, "SELECT id FROM reconciliation_runs") == []


# ---------------------------------------------------------------- one run


def test_a_run_is_read_by_its_id_404_when_unknown_400_when_not_a_uuid(api: Client, quiet_settings: Settings) -> None:
    finished = _insert_run(quiet_settings.database_url, "vendor-1", "stopped", NOW, drift=3)
    response = api.get(f"/api/admin/reconciliation/runs/{finished}", headers=admin_headers(api))
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["id"] == finished and run["status"] == "stopped" and run["trigger"] == "schedule"
    assert set(run) == {"id", "vendorId", "scope", "trigger", "status", "confirmed", "correlationId",
                        "requestedAt", "startedAt", "finishedAt", "summary"}
    assert datetime.fromisoformat(run["finishedAt"]) == NOW
    summary = run["summary"]
    assert summary["entities"][0]["entity"] == "items" and summary["entities"][0]["driftFound"] == 3
    assert summary["durationMs"] == 40 and summary["samples"] == [{"key": {"sku": "S-1"}}]

    missing = _problem(api.get(f"/api/admin/reconciliation/runs/{uuid.uuid4()}", headers=admin_headers(api)), 404)
    assert missing["type"] == "https://restosync.dev/problems/not-found"
    for bad in ("not-a-uuid", "1234", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"):
        _problem(api.get(f"/api/admin/reconciliation/runs/{bad}", headers=admin_headers(api)), 400, "runId")


# ---------------------------------------------------------------- events


@pytest.fixture
def event_log(quiet_settings: Settings) -> dict[str, Any]:
    """Five events of two vendors, a minute apart (the newest is ``e4``), two of them tied to a run."""
    url = quiet_settings.database_url
    run = _insert_run(url, "vendor-1", "completed", NOW - timedelta(hours=1), drift=1, repaired=1)
    base = NOW - timedelta(minutes=10)
    ids = [
        _insert_event(url, "vendor-1", "drift_check", "items", base),
        _insert_event(url, "vendor-2", "error", "stock", base + timedelta(minutes=1)),
        _insert_event(url, "vendor-1", "conflict_resolved", "items", base + timedelta(minutes=2), run),
        _insert_event(url, "vendor-1", "drift_detected", "stock", base + timedelta(minutes=3), run),
        _insert_event(url, "vendor-1", "conflict_resolved", "stock", base + timedelta(minutes=4)),
    ]
    return {"run": run, "ids": ids, "base": base}


def _events(api: Client, **params: Any) -> dict[str, Any]:
    response = api.get(EVENTS, params=params, headers=admin_headers(api))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_event_log_is_newest_first_with_its_page_meta(api: Client, event_log: dict[str, Any]) -> None:
    ids = event_log["ids"]
    everything = _events(api)
    assert [e["id"] for e in everything["data"]] == ids[::-1]
    assert everything["meta"] == {"page": 1, "limit": 50, "total": 5, "totalPages": 1}
    event = everything["data"][2]
    assert set(event) == {"id", "runId", "vendorId", "eventType", "entity", "durationMs", "createdAt", "summary"}
    assert event["runId"] == event_log["run"] and event["vendorId"] == "vendor-1"
    assert event["eventType"] == "conflict_resolved" and event["entity"] == "items" and event["durationMs"] == 7
    assert event["summary"] == {"key": {"sku": "S-1"}, "action": "updated"}
    assert datetime.fromisoformat(event["createdAt"]) == event_log["base"] + timedelta(minutes=2)
    assert everything["data"][0]["runId"] is None

    second = _events(api, page=2, limit=2)
    assert [e["id"] for e in second["data"]] == [ids[2], ids[1]]
    assert second["meta"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3}
    assert _events(api, page=4, limit=2)["data"] == []


def test_the_event_log_filters(api: Client, event_log: dict[str, Any]) -> None:
    ids, base = event_log["ids"], event_log["base"]

    def found(**params: Any) -> list[str]:
        return [e["id"] for e in _events(api, **params)["data"]]

    assert found(vendorId="vendor-2") == [ids[1]]
    assert found(vendorId="vendor-3") == []
    assert found(entity="stock") == [ids[4], ids[3], ids[1]]
    assert found(entity="all") == []  # only the own events of runs of both entities carry "all"
    assert found(runId=event_log["run"]) == [ids[3], ids[2]]
    assert found(eventType="conflict_resolved") == [ids[4], ids[2]]
    assert found(vendorId="vendor-1", entity="items", eventType="conflict_resolved") == [ids[2]]
    since = (base + timedelta(minutes=1)).isoformat()
    plus_two = timezone(timedelta(hours=2))
    until = (base + timedelta(minutes=3)).astimezone(plus_two).isoformat()  # another offset, same instant
    assert found(since=since, until=until) == [ids[2], ids[1]]  # since inclusive, until exclusive
    assert found(since=(base + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")) == [ids[4]]
    assert _events(api, vendorId="vendor-1", limit=1)["meta"] == {"page": 1, "limit": 1, "total": 4, "totalPages": 4}


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"since": "2026-01-15"}, "since"),
        ({"since": "2026-01-15T09:30:00"}, "since"),  # no offset
        ({"until": "2026-13-15T09:30:00Z"}, "until"),
        ({"until": "yesterday"}, "until"),
        ({"runId": "not-a-uuid"}, "runId"),
        ({"vendorId": "bad vendor"}, "vendorId"),
        ({"entity": "orders"}, "entity"),
        ({"eventType": "drift"}, "eventType"),
        ({"page": "0"}, "page"),
        ({"limit": "101"}, "limit"),
    ],
)
def test_a_bad_event_filter_is_a_400_naming_the_parameter(api: Client, params: dict[str, str], path: str) -> None:
    _problem(api.get(EVENTS, params=params, headers=admin_headers(api)), 400, path)


def test_since_after_until_is_an_empty_window(api: Client) -> None:
    params = {"since": "2026-01-15T10:00:00+01:00", "until": "2026-01-15T08:59:59Z"}
    answer = api.get(EVENTS, params=params, headers=admin_headers(api))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"data": [], "meta": {"page": 1, "limit": 50, "total": 0, "totalPages": 0}}


# ---------------------------------------------------------------- metrics


def test_metrics_of_a_vendor_without_runs_are_zeros_and_nulls(api: Client) -> None:
    response = api.get("/api/admin/metrics/reconciliation/vendor-1", headers=admin_headers(api))
    assert response.status_code == 200, response.text
    empty = {"total": 0, "compared": 0, "withDrift": 0, "byStatus": {}, "driftFound": 0, "repaired": 0}
    assert response.json() == {
        "vendorId": "vendor-1", "eventCount": 0, "lastRun": None, "driftFrequency": {"24h": None, "7d": None},
        "runs": {"24h": empty, "7d": empty}, "recentRuns": [],
    }


def test_metrics_count_a_vendors_runs_in_both_windows(api: Client, quiet_settings: Settings) -> None:
    url = quiet_settings.database_url
    _insert_run(url, "vendor-1", "completed", NOW - timedelta(days=3), drift=2, repaired=2)
    _insert_run(url, "vendor-1", "completed", NOW - timedelta(days=2))
    _insert_run(url, "vendor-1", "skipped", NOW - timedelta(hours=5))
    latest = _insert_run(url, "vendor-1", "stopped", NOW - timedelta(hours=1), drift=9)
    _insert_run(url, "vendor-2", "completed", NOW - timedelta(minutes=5), drift=1, repaired=1)
    _insert_event(url, "vendor-1", "drift_check", "items", NOW)
    _insert_event(url, "vendor-2", "drift_check", "items", NOW)

    response = api.get("/api/admin/metrics/reconciliation/vendor-1", headers=admin_headers(api))
    assert response.status_code == 200, response.text
    metrics = response.json()
    assert metrics["eventCount"] == 1
    assert metrics["lastRun"]["id"] == latest and metrics["lastRun"]["summary"]["samples"]
    assert metrics["driftFrequency"] == {"24h": 1.0, "7d": pytest.approx(2 / 3)}
    assert metrics["runs"]["24h"] == {"total": 2, "compared": 1, "withDrift": 1,
                                      "byStatus": {"skipped": 1, "stopped": 1}, "driftFound": 9, "repaired": 0}
    assert metrics["runs"]["7d"] == {"total": 4, "compared": 3, "withDrift": 2,
                                     "byStatus": {"completed": 2, "skipped": 1, "stopped": 1},
                                     "driftFound": 11, "repaired": 2}
    recent = metrics["recentRuns"]
    assert recent[0]["id"] == latest and len(recent) == 4
    assert all("samples" not in r["summary"] and r["vendorId"] == "vendor-1" for r in recent)


@pytest.mark.parametrize("vendor", ["bad%20vendor", "v" * 65, "a%2Bb"])
def test_metrics_of_a_malformed_vendor_id_is_a_400(api: Client, vendor: str) -> None:
    _problem(api.get(f"/api/admin/metrics/reconciliation/{vendor}", headers=admin_headers(api)), 400, "vendorId")


# ---------------------------------------------------------------- OpenAPI


OPERATIONS = {
    ("post", "/api/admin/reconciliation/trigger"): ("triggerReconciliation", {"202", "400", "401", "404", "409"}),
    ("get", "/api/admin/reconciliation/runs/{run_id}"): ("getReconciliationRun", {"200", "400", "401", "404"}),
    ("get", "/api/admin/reconciliation/events"): ("listReconciliationEvents", {"200", "400", "401"}),
    ("get", "/api/admin/metrics/reconciliation/{vendor_id}"): ("getReconciliationMetrics", {"200", "400", "401"}),
}


def test_the_openapi_document_describes_the_four_operations(settings: Settings) -> None:
    docs = make_settings(settings.database_url, settings.redis_prefix, SWAGGER_ENABLED="true")
    with TestClient(create_app(bootstrap(docs))) as client:
        response = client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    paths = response.json()["paths"]
    for (method, path), (operation_id, statuses) in OPERATIONS.items():
        operation = paths[path][method]
        assert operation["operationId"] == operation_id
        assert operation["summary"] and operation["description"]
        assert operation["security"] == [{"ApiKey": []}]
        assert statuses <= set(operation["responses"]), (operation_id, sorted(operation["responses"]))
        for status in statuses - {"200", "202"}:
            assert "application/problem+json" in operation["responses"][status]["content"], (operation_id, status)
    trigger = paths["/api/admin/reconciliation/trigger"]["post"]
    assert "X-Correlation-ID" in trigger["description"]
    events = paths["/api/admin/reconciliation/events"]["get"]
    assert {"page", "limit", "vendorId", "entity", "runId", "eventType", "since", "until"} <= {
        p["name"] for p in events["parameters"]
    }
