"""Jobs the benchmarks enqueue by name (the workers import them from the repository root)."""


def noop() -> None:
    """Does nothing: the orders bench measures bare RQ overhead with it."""
