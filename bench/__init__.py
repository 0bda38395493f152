"""restosync's benchmarks: each part measures itself and a baseline in the same run."""
