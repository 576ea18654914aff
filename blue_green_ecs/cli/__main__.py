"""``python -m blue_green_ecs.cli``."""

from .main import main

raise SystemExit(main())
