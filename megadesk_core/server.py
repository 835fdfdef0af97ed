"""Running the API server (``megadesk serve``): one process, or several uvicorn workers.

One worker: the app is built here, so a start-up problem is a one-line error. Several: uvicorn
binds the socket and starts each worker in a fresh interpreter that imports
:func:`app_from_environment`, which builds its settings from the same ``MEGADESK_*``
environment (and ``.env``). Before that, this process runs the start-up checks once (a problem
is reported once, not by every worker) and the migrations once; the workers are started with
``MEGADESK_AUTO_MIGRATE=false``, so they never race each other over the schema (they check it
is current instead). Several workers need Redis: what the processes must share (today the
panel cache and its invalidations) lives there, never in one process's memory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from litestar import Litestar

from megadesk_core.app import create_app
from megadesk_core.observability.logs import uvicorn_logging
from megadesk_core.settings import Settings
from megadesk_core.startup import StartupError, prepare

APP_FACTORY = "megadesk_core.server:app_from_environment"
"""What each worker imports; also usable directly: ``uvicorn --factory megadesk_core.server:app_from_environment``."""


def app_from_environment() -> Litestar:
    """The app, with settings read from the environment of the process that calls this."""
    return create_app(Settings())


def check_workers(settings: Settings, workers: int) -> None:
    if workers > 1 and not settings.redis_url:
        raise StartupError(
            f"{workers} workers need Redis, where the processes share their panel cache: set "
            "MEGADESK_REDIS_URL, e.g. redis://127.0.0.1:6379/0, or serve with --workers 1 (MEGADESK_WORKERS=1)"
        )


@contextmanager
def _environment(**variables: str) -> Iterator[None]:
    """Variables the spawned workers inherit, restored afterwards."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def preview_address(host: str, port: int) -> str:
    """The sidebar preview page's address, with the fragment it reads (docs/operations.md)."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 (what a wildcard bind means)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/preview#token=<agent token>&ticket=<ticket id>"


def serve(
    settings: Settings, *, host: str, port: int, workers: int, announce: Callable[[str], None] | None = None
) -> None:
    """Serve until interrupted; a :class:`StartupError` before anything listens. ``announce`` is
    told the preview page's address once the start-up checks passed."""
    import uvicorn

    check_workers(settings, workers)
    log_level = settings.log_level.lower()
    logging_options = uvicorn_logging(settings.log_format)
    if workers == 1:
        app = create_app(settings)
        if announce is not None:
            announce(preview_address(host, port))
        uvicorn.run(app, host=host, port=port, log_level=log_level, **logging_options)
        return
    _keyring, registry = prepare(settings)  # migrates (if configured) and checks, once
    asyncio.run(registry.shutdown())
    if announce is not None:
        announce(preview_address(host, port))
    with _environment(MEGADESK_AUTO_MIGRATE="false"):
        uvicorn.run(
            APP_FACTORY, factory=True, workers=workers, host=host, port=port, log_level=log_level, **logging_options
        )
