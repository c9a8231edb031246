"""`python -m bot` is the same as the `iamauth` console script."""

from bot.cli import main

raise SystemExit(main())
