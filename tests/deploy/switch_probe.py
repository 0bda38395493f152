"""A ``--switch-hook`` for the tests: records where traffic now goes and what that colour's /health says.

``python -m tests.deploy.switch_probe STATE_DIR`` appends ``<upstream> <status>`` to
``STATE_DIR/switches.log``, as a reverse proxy reloading its upstream would see it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

if __name__ == "__main__":
    state_dir = Path(sys.argv[1])
    upstream = (state_dir / "upstream").read_text().strip()
    status = httpx.get(f"{upstream}/health", timeout=5).status_code
    with (state_dir / "switches.log").open("a") as log:
        log.write(f"{upstream} {status}\n")
