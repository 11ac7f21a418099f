"""Allow ``python -m server`` as a synonym for the ``heron`` console script."""

from server.cli import main

raise SystemExit(main())
