"""restosync's core: what the business is, in the standard library only.

Domain types live in ``model``, the ports the core needs from the outside world
in ``ports``, pure decisions in ``policies`` and one use case per module in
``use_cases``. Nothing here opens a connection or reads the environment.
"""
