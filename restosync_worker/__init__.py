"""restosync's worker shell: RQ job functions, the worker entry point and the scheduler."""
