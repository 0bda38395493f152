"""docs/agent-protocol.md#signed-requests: its test vectors hold, for our signer and for its own snippet.

The snippet is the one the fake agent runs (``tests.agent_signature`` executes it from the
page), so what the page tells agent authors to copy is what every integration test checks.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restosync_adapters.outbound_signing import signature, signed_headers
from restosync_core.model.agents import OutboundCredential
from tests.agent_signature import PROTOCOL, TOLERANCE_SECONDS, InvalidRequest, verify_request


def _vector() -> dict[str, str]:
    page = PROTOCOL.read_text()
    block = page.split("<!-- signing-test-vector", 1)[1].split("\n\n", 1)[0]
    return {m[0]: m[1] for m in re.findall(r"^- ([a-z-]+): `([^`]+)`", block, re.M)}


VECTOR = _vector()
TARGET = re.search(r"and for the request target\s+`([^`]+)`\s+with id `([^`]+)`[^`]+`(v1,[^`]+)`",
                   PROTOCOL.read_text())


def test_the_page_has_both_vectors() -> None:
    assert set(VECTOR) == {"secret", "webhook-id", "webhook-timestamp", "body", "webhook-signature"}
    assert TARGET is not None


def test_our_signer_gives_the_pages_signatures() -> None:
    ts = int(VECTOR["webhook-timestamp"])
    assert signature(VECTOR["secret"], VECTOR["webhook-id"], ts, VECTOR["body"].encode()) == VECTOR["webhook-signature"]
    assert TARGET is not None
    target, msg_id, expected = TARGET.groups()
    assert signature(VECTOR["secret"], msg_id, ts, target.encode()) == expected


def _headers(**changes: str) -> dict[str, str]:
    return {"authorization": "Bearer rso_out_t", "webhook-id": VECTOR["webhook-id"],
            "webhook-timestamp": VECTOR["webhook-timestamp"], "webhook-signature": VECTOR["webhook-signature"],
            **changes}


NOW = int(VECTOR["webhook-timestamp"]) + 10


def test_the_pages_snippet_accepts_its_vector_once() -> None:
    seen: dict[str, int] = {}
    verify_request("rso_out_t", VECTOR["secret"], _headers(), VECTOR["body"].encode(), seen, now=NOW)
    with pytest.raises(InvalidRequest, match="replay"):
        verify_request("rso_out_t", VECTOR["secret"], _headers(), VECTOR["body"].encode(), seen, now=NOW)


@pytest.mark.parametrize(("what", "token", "secret", "headers", "body", "now", "says"), [
    ("a changed body", "rso_out_t", None, {}, b'{"jobId":"x"}', NOW, "does not match"),
    ("an old timestamp", "rso_out_t", None, {}, None, NOW + TOLERANCE_SECONDS, "away from now"),
    ("a wrong key", "rso_out_t", "whsec_" + "A" * 43 + "=", {}, None, NOW, "does not match"),
    ("a wrong token", "rso_out_other", None, {}, None, NOW, "outbound token"),
    ("no signature", "rso_out_t", None, {"webhook-signature": ""}, None, NOW, "does not match"),
    ("another version", "rso_out_t", None, {"webhook-signature": "v2," + VECTOR["webhook-signature"][3:]},
     None, NOW, "does not match"),
    ("a bad timestamp", "rso_out_t", None, {"webhook-timestamp": "soon"}, None, NOW, "malformed"),
])
def test_the_pages_snippet_refuses(what: str, token: str, secret: str | None, headers: dict[str, str],
                                   body: bytes | None, now: int, says: str) -> None:
    with pytest.raises(InvalidRequest, match=says):
        verify_request(token, secret or VECTOR["secret"], _headers(**headers),
                       body if body is not None else VECTOR["body"].encode(), {}, now=now)


def test_a_request_signed_with_a_rotated_secret_among_others_is_accepted() -> None:
    other = signature("whsec_" + "B" * 43 + "=", VECTOR["webhook-id"], int(VECTOR["webhook-timestamp"]), b"x")
    both = f"{other} {VECTOR['webhook-signature']}"
    verify_request("rso_out_t", VECTOR["secret"], _headers(**{"webhook-signature": both}),
                   VECTOR["body"].encode(), {}, now=NOW)


def test_ids_older_than_the_tolerance_are_forgotten() -> None:
    seen = {"msg_old": NOW - TOLERANCE_SECONDS - 1, "msg_recent": NOW - 5}
    verify_request("rso_out_t", VECTOR["secret"], _headers(), VECTOR["body"].encode(), seen, now=NOW)
    assert set(seen) == {"msg_recent", VECTOR["webhook-id"]}


@given(body=st.binary(max_size=2000), at=st.integers(min_value=0, max_value=2**33))
def test_whatever_we_sign_the_snippet_verifies_and_a_flipped_byte_breaks(body: bytes, at: int) -> None:
    credential = OutboundCredential.issue()
    headers = {k.lower(): v for k, v in signed_headers(credential, body, now=lambda: at).items()}
    assert headers["webhook-id"].startswith("msg_") and len(headers["webhook-id"]) == 36
    verify_request(credential.token, credential.signing_secret, headers, body, {}, now=at)
    altered = body + b"!" if not body else bytes([body[0] ^ 1]) + body[1:]
    with pytest.raises(InvalidRequest):
        verify_request(credential.token, credential.signing_secret, headers, altered, {}, now=at)


def test_each_call_gets_a_new_id() -> None:
    credential = OutboundCredential.issue()
    ids = {signed_headers(credential, b"{}")["webhook-id"] for _ in range(100)}
    assert len(ids) == 100


def test_credentials_are_random_and_never_shown_by_repr() -> None:
    first, second = OutboundCredential.issue(), OutboundCredential.issue()
    assert first != second
    assert first.token not in repr(first) and first.signing_secret not in repr(first)
    assert len(first.signing_secret) == len("whsec_") + 44
