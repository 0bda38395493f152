"""Redis adapters: clients, rate-limit counts, shared caches' invalidation and breaker state."""
