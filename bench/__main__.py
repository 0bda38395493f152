"""``make bench``: run every benchmark part (or those named) and print figures next to their baselines.

Usage: python -m bench [agents] [ingest] [orders] [reconciliation] [--fork]

Options (``--...``) are left for the parts to read from ``sys.argv``: ``--fork`` makes the
orders part also measure the bare job on RQ's forking worker.
"""

from __future__ import annotations

import importlib
import sys

PARTS = ["agents", "ingest", "orders", "reconciliation"]


def main(argv: list[str]) -> int:
    wanted = [a for a in argv if not a.startswith("--")] or PARTS
    unknown = [p for p in wanted if p not in PARTS]
    if unknown:
        print(f"unknown benchmark part(s): {', '.join(unknown)}; known: {', '.join(PARTS)}")
        return 2
    failed = 0
    for part in wanted:
        try:
            module = importlib.import_module(f"bench.{part}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{part}":
                raise
            print(f"== {part}: not written yet")
            continue
        print(f"== {part}")
        failed += 0 if module.run() else 1
    print(f"== bench done: {len(wanted) - failed} part(s) met every goal, {failed} did not")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
