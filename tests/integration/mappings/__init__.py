"""Integration tests of ERP code mappings over the real app, PostgreSQL and Redis."""
