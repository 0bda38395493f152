"""Use cases: one per module, named by a verb; each receives the ports it uses."""
