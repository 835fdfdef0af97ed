"""Log output: plain text (the default) or JSON lines (``MEGADESK_LOG_FORMAT=json``).

A JSON line is one object: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the
request's ``request_id`` and ``tenant`` (slug), the ``integration`` and ``action`` at work when
they apply, ``trace_id`` when tracing is on, ``exception`` (the traceback) when there is one,
and an access line's ``http`` fields. The fields are read in the thread that logs
(:class:`RequestContextFilter`, on the handler), before the record crosses Litestar's logging
queue to the thread that writes it.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

from litestar.logging.config import default_handlers

from megadesk_core.observability import tracing
from megadesk_core.observability.context import log_fields

LogFormat = Literal["text", "json"]
CONTEXT_ATTRIBUTE = "megadesk_context"
FIELDS_ATTRIBUTE = "http"
"""``log.info(..., extra={"http": {...}})`` adds an ``http`` object (the access line)."""


class RequestContextFilter(logging.Filter):
    """Copies the current request's fields onto each record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, CONTEXT_ATTRIBUTE):
            fields = log_fields()
            if (trace_id := tracing.current_trace_id()) is not None:
                fields["trace_id"] = trace_id
            setattr(record, CONTEXT_ATTRIBUTE, fields)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback is a string field)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, CONTEXT_ATTRIBUTE, None) or {})
        if isinstance(fields := getattr(record, FIELDS_ATTRIBUTE, None), dict):
            entry[FIELDS_ATTRIBUTE] = fields
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_output(log_format: LogFormat) -> dict[str, Any]:
    """``formatters``, ``filters`` and ``handlers`` for Litestar's ``LoggingConfig``: its own
    (queued) handlers, with the JSON formatter when asked; the context filter either way."""
    handlers = copy.deepcopy(default_handlers)
    for handler in handlers.values():
        if log_format == "json" and "formatter" in handler:
            handler["formatter"] = "json"
    handlers["queue_listener"]["filters"] = ["request_context"]
    output: dict[str, Any] = {
        "filters": {"request_context": {"()": RequestContextFilter}},
        "handlers": handlers,
    }
    if log_format == "json":
        output["formatters"] = {"json": {"()": JsonFormatter}}  # Litestar adds its "standard" one
    return output


def uvicorn_logging(log_format: LogFormat) -> dict[str, Any]:
    """Options for ``uvicorn.run``: with JSON lines, uvicorn leaves logging alone (its loggers
    reach the app's JSON handler) and writes no access log of its own (plain text, without the
    request id): the app's access line replaces it."""
    return {"log_config": None, "access_log": False} if log_format == "json" else {}


CLI_TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


def cli_log_handler(log_format: LogFormat) -> logging.Handler:
    """The ``megadesk`` command's own log handler (start-up checks, before any app is built)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(CLI_TEXT_FORMAT))
    return handler
