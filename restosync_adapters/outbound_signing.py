"""Signatures on restosync's calls to agents, in the style of the Standard Webhooks specification.

Every call carries three headers (docs/agent-protocol.md#signed-requests):

- ``webhook-id``: ``msg_`` + 32 hex digits, new for every HTTP request (a retry is a new request);
- ``webhook-timestamp``: when it was signed, in whole seconds since the Unix epoch;
- ``webhook-signature``: ``v1,`` + base64 of HMAC-SHA256, keyed with the base64-decoded part of the
  agent's signing secret after ``whsec_``, over ``{id}.{timestamp}.{payload}``.

The payload is the request body for a request that has one (``POST /sync/create-order``), and the
request target, path and query string exactly as sent, for one that has none (the reconciliation
``GET``s), so neither the order nor the range asked can be altered in transit. An agent checks the
signature in constant time, refuses a timestamp more than ``TOLERANCE_SECONDS`` away from its clock,
and refuses an id it saw within that window (a replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable

from restosync_core.model.agents import SIGNING_SECRET_PREFIX, OutboundCredential

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
TOLERANCE_SECONDS = 5 * 60
"""How far from the agent's clock a timestamp may be; what the agent remembers ids for."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret: the decoded bytes."""
    return base64.b64decode(secret.removeprefix(SIGNING_SECRET_PREFIX), validate=True)


def signature(secret: str, msg_id: str, timestamp: int, payload: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{payload}">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def signed_headers(
    credential: OutboundCredential,
    payload: bytes,
    *,
    now: Callable[[], float] = time.time,
    message_id: Callable[[], str] = new_message_id,
) -> dict[str, str]:
    """The headers of one call: the agent's outbound token, a fresh id, the time, the signature."""
    msg_id, timestamp = message_id(), int(now())
    return {
        "Authorization": f"Bearer {credential.token}",
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(credential.signing_secret, msg_id, timestamp, payload),
    }
