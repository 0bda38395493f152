"""restosync's benchmarks: each part measures itself and a baseline in the same run."""

BENCH_DENIED_NETWORKS = "169.254.0.0/16"
"""The benches run as ``ENV=production`` (whose default also denies loopback agent URLs) with
their agents on 127.0.0.1: only link-local (cloud metadata) addresses stay denied."""
