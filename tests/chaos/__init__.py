"""``make chaos``: the whole system under sustained traffic and injected faults, outcomes counted.

Each scenario (``tests/chaos/scenarios.py``) runs the real processes (``restosync run``, or
API, workers and schedulers started one by one), a Redis server of its own, a scratch
database on the local PostgreSQL (behind a TCP proxy where the fault is PostgreSQL's),
and the fake agent, all on 127.0.0.1; injects its faults; counts what happened; and
prints one line. ``python -m tests.chaos [R1 ... R6]`` runs some or all of them and exits
1 when a count is wrong (docs/reliability.md).
"""
