"""``python -m restosync_cli``: the ``restosync`` command."""

from restosync_cli import main

raise SystemExit(main())
