"""``python -m frugal``: the same command line as the ``frugal`` console script."""
from frugal.cli import main

raise SystemExit(main())
