"""The pluggy markers: plugins decorate their hook implementations with ``hookimpl``."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "megadesk"
ENTRY_POINT_GROUP = "megadesk.integrations"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
