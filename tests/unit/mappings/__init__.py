"""Unit tests of ERP code mappings: cache, resolver and admin use cases, against fakes."""
