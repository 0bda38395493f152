"""The request verification docs/agent-protocol.md tells agent authors to copy, run from that page.

The snippet between the ``verification-snippet`` markers is executed here, as it is
written there, so the fake agent checks every call with exactly what the page
promises works (and a change to the page that breaks it fails the tests).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

PROTOCOL = Path(__file__).resolve().parents[1] / "docs" / "agent-protocol.md"
_SNIPPET = re.compile(
    r"<!-- verification-snippet: begin -->\s*```python\n(.*?)```\s*<!-- verification-snippet: end -->", re.S
)


def snippet() -> str:
    found = _SNIPPET.search(PROTOCOL.read_text())
    assert found, f"no verification snippet between the markers in {PROTOCOL}"
    return found.group(1)


_namespace: dict[str, Any] = {"__name__": "agent_protocol_snippet"}
exec(compile(snippet(), str(PROTOCOL), "exec"), _namespace)

verify_request = _namespace["verify_request"]
InvalidRequest: type[Exception] = _namespace["InvalidRequest"]
TOLERANCE_SECONDS: int = _namespace["TOLERANCE_SECONDS"]
