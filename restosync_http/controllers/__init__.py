"""Litestar controllers, one module per area; ``ROUTES`` lists what the app serves."""
