"""restosync's calls to agents carry the agent's own outbound credential and are signed; nothing else leaves.

Over real PostgreSQL, Redis, an RQ worker and the fake agent, which verifies every
call with the snippet of docs/agent-protocol.md and refuses (401) what fails it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from litestar.testing import TestClient

from restosync_adapters.outbound_signing import signed_headers
from restosync_adapters.settings import Settings
from restosync_core.model.agents import OutboundCredential
from tests.erp_simulator import ErpSimulator
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import admin_headers, agent_token
from tests.integration.orders.conftest import Worker, admin, order_body

Client = TestClient  # type: ignore[type-arg]


def _register(api: Any, vendor: str, agent: FakeAgent, token: str, **headers: str) -> dict[str, Any]:
    secret = api.app.state.services.settings.agent_secret
    response = api.post(
        "/api/agents/register", json={"vendorId": vendor, "agentUrl": agent.url, "authToken": token},
        headers={"Authorization": f"Bearer {secret}", **headers},
    )
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


def _place(api: Any, vendor: str, number: str) -> str:
    response = api.post("/api/orders", json=order_body(vendor, number), headers=admin(api))
    assert response.status_code == 201, response.text
    job_id: str = response.json()["syncJobId"]
    return job_id


def test_nothing_our_side_accepts_ever_reaches_an_agent_in_orders_or_reconciliation(
    api: Client, worker: Worker, order_settings: Settings
) -> None:
    erp = ErpSimulator()
    erp.fill(5)
    agent = FakeAgent(erp=erp).start()
    try:
        token = agent_token()
        answer = _register(api, "vendor-1", agent, token)
        agent.trust(answer["outbound"])
        jobs = [_place(api, "vendor-1", f"S-{n}") for n in range(3)]
        worker.until(lambda: len(agent.orders_received()) == 3, 30, "the 3 orders delivered")
        started = api.post("/api/admin/reconciliation/trigger", json={"vendorId": "vendor-1", "entity": "all"},
                           headers=admin_headers(api))
        assert started.status_code == 202, started.text
        run_id = started.json()["runId"]

        def finished() -> dict[str, Any] | None:
            run: dict[str, Any] = api.get(f"/api/admin/reconciliation/runs/{run_id}", headers=admin_headers(api)).json()
            return run if run["status"] not in ("queued", "running") else None

        run = worker.until(finished, 30, "the reconciliation run")
        assert run["status"] == "completed", run
        paths = {r.path.split("?")[0] for r in agent.requests}
        assert {"/sync/create-order", "/sync/checksum"} <= paths, paths  # orders and reconciliation both called
        assert agent.rejections == []  # every call verified: right token, fresh, signed, never replayed
        assert {r.headers["authorization"] for r in agent.requests} == {f"Bearer {answer['outbound']['token']}"}
        assert len({r.headers["webhook-id"] for r in agent.requests}) == len(agent.requests)
        assert sorted(r.idempotency_key or "" for r in agent.orders_received()) == sorted(jobs)

        wire = b"\n".join(agent.wire)
        assert len(agent.wire) == len(agent.requests)
        for name, secret in (("AGENT_SECRET", order_settings.agent_secret), ("API_SECRET", order_settings.api_secret),
                             ("the agent's authToken", token),
                             ("the signing secret", answer["outbound"]["signingSecret"])):
            assert secret.encode() not in wire, f"{name} was sent to the agent"
    finally:
        agent.stop()


def test_the_fake_agent_refuses_an_unsigned_an_altered_an_old_a_wrongly_keyed_and_a_replayed_call() -> None:
    agent = FakeAgent().start()
    try:
        credential = agent.endpoint().credential
        body = json.dumps(order_body("vendor-1", "X-1")).encode()
        url = f"{agent.url}/sync/create-order"
        now = agent.clock()

        def send(content: bytes, headers: dict[str, str]) -> int:
            return httpx.post(url, content=content, headers={"Idempotency-Key": "k-1", **headers}).status_code

        good = signed_headers(credential, body)
        assert send(body, {"Authorization": f"Bearer {credential.token}"}) == 401  # not signed
        assert send(body.replace(b"X-1", b"X-2"), good) == 401  # the body changed after signing
        assert send(body, signed_headers(credential, body, now=lambda: now - 301)) == 401  # too old
        assert send(body, signed_headers(credential, body, now=lambda: now + 301)) == 401  # from the future
        wrong_key = OutboundCredential(credential.token, OutboundCredential.issue().signing_secret)
        assert send(body, signed_headers(wrong_key, body)) == 401
        wrong_token = OutboundCredential("rso_out_someone-else", credential.signing_secret)
        assert send(body, signed_headers(wrong_token, body)) == 401
        assert agent.orders_received() == []

        assert send(body, good) == 202  # the same headers, on the body they signed
        assert send(body, good) == 401  # ... once: a replay is refused
        assert len(agent.orders_received()) == 1
        reasons = [reason for _, reason in agent.rejections]
        assert reasons == [
            "missing or malformed webhook-id, webhook-timestamp or webhook-signature",
            "webhook-signature does not match",
            "webhook-timestamp is more than 300 s away from now",
            "webhook-timestamp is more than 300 s away from now",
            "webhook-signature does not match",
            "wrong or missing outbound token",
            "webhook-id was already received: a replay",
        ], reasons
    finally:
        agent.stop()


def test_replacing_the_token_rotates_the_outbound_credential_and_calls_use_the_new_one(
    api: Client, agent: FakeAgent, order_settings: Settings
) -> None:
    first_token, second_token = agent_token(), agent_token()
    created = _register(api, "vendor-1", agent, first_token)["outbound"]
    assert created["token"].startswith("rso_out_") and created["signingSecret"].startswith("whsec_")
    assert _register(api, "vendor-1", agent, first_token)["outbound"] == created  # same token: same credential
    rotated = _register(api, "vendor-1", agent, second_token, **{"X-Agent-Token": first_token})["outbound"]
    assert rotated["token"] != created["token"] and rotated["signingSecret"] != created["signingSecret"]

    agent.trust(rotated)  # the agent knows only the new one
    worker = Worker(order_settings)  # a worker started now: nothing remembered from before the rotation
    try:
        _place(api, "vendor-1", "R-1")
        worker.until(lambda: agent.orders_received(), 30, "the order delivered")
    finally:
        worker.close()
    assert agent.rejections == []
    assert agent.orders_received()[0].headers["authorization"] == f"Bearer {rotated['token']}"


def test_the_outbound_credential_is_answered_only_at_registration_and_grants_nothing_on_the_api(
    api: Client, agent: FakeAgent
) -> None:
    answer = _register(api, "vendor-1", agent, agent_token())
    outbound = answer["outbound"]
    shown = api.get("/api/admin/agents/vendor-1", headers=admin_headers(api))
    listed = api.get("/api/admin/agents", headers=admin_headers(api))
    for response in (shown, listed):
        assert response.status_code == 200
        assert outbound["token"] not in response.text and outbound["signingSecret"] not in response.text
        assert "outbound" not in response.text

    for credential in (outbound["token"], outbound["signingSecret"]):
        as_agent = {"Authorization": f"Bearer {credential}", "X-Vendor-ID": "vendor-1"}
        assert api.post("/api/agents/heartbeat", headers=as_agent).status_code == 401
        assert api.post("/api/sync/items/batch", json={"items": []}, headers=as_agent).status_code == 401
        assert api.get("/api/admin/agents", headers={"X-API-Key": credential}).status_code == 401
        as_registrar = {"Authorization": f"Bearer {credential}"}
        body = {"vendorId": "vendor-2", "agentUrl": agent.url, "authToken": agent_token()}
        assert api.post("/api/agents/register", json=body, headers=as_registrar).status_code == 401
