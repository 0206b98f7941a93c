"""`python -m bot.cli`: the `shopdesk` command without the installed script."""

from bot.cli import main

raise SystemExit(main())
