"""``python -m tests.chaos [R1 ... R6]``: run scenarios (default: all), one line each; exit 1 if a count is wrong."""

from __future__ import annotations

import argparse
import sys
import time

from tests.chaos.scenarios import FULL, SCENARIOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("scenarios", nargs="*", metavar="R", help=f"of {', '.join(SCENARIOS)} (default: all)")
    args = parser.parse_args(argv)
    names = [n.upper() for n in args.scenarios] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}")
    began = time.monotonic()
    failed = 0
    for name in names:
        print(f"{name}: running ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        outcome = SCENARIOS[name](FULL)
        outcome.seconds = time.monotonic() - started
        print(outcome.line(), flush=True)
        failed += not outcome.passed
    print(f"chaos: {len(names) - failed} of {len(names)} scenario(s) passed in {time.monotonic() - began:.0f} s",
          flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
