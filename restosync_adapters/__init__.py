"""restosync's adapters: the only place that knows technologies (PostgreSQL, Redis, RQ, HTTP clients)."""
