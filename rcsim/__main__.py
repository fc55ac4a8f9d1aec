"""``python -m rcsim``."""

from rcsim.cli import main

raise SystemExit(main())
