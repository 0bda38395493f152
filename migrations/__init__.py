"""restosync's SQL migrations, shipped as package data (installed as ``restosync_migrations``).

The ``*.sql`` files beside this module are applied in name order by ``restosync migrate``.
"""
