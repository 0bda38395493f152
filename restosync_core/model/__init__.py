"""Domain types: frozen dataclasses, NewType ids and enums, one module per area."""
