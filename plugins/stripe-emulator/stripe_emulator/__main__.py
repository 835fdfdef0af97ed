from __future__ import annotations

from stripe_emulator.cli import main

raise SystemExit(main())
