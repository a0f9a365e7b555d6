"""JSON logs: one object per line on stderr, for the app's loggers and gunicorn's alike.

Turned on by ``O2O_JSON_LOGS=1`` (``scripts/run.sh`` does): then every request is one line from
the ``o2o.request`` logger, e.g.::

    {"time": "2026-11-29T14:02:11.513Z", "level": "INFO", "logger": "o2o.request", "message": "request",
     "method": "GET", "path": "/api/v1/stores/nearby", "endpoint": "api.nearby", "status": 200,
     "duration_ms": 1.84, "request_id": "5b0c…", "pid": 4121}

and gunicorn's own lines (workers booting, timeouts) come out in the same shape
(``gunicorn.conf.py`` hands :func:`gunicorn_logconfig` to gunicorn).
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.orjson import OrjsonFormatter

FIELDS = ("asctime", "levelname", "name", "message")
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
_HANDLER_MARK = "_o2o_json_handler"


class JsonFormatter(OrjsonFormatter):
    """python-json-logger's orjson formatter with ISO-8601 UTC times in milliseconds."""

    converter = __import__("time").gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", RENAMED)
        super().__init__(list(FIELDS), *args, **kwargs)


def enable(level: int = logging.INFO) -> None:
    """Send the app's loggers (``o2o.*``) to stderr as JSON lines, once per process."""
    logger = logging.getLogger("o2o")
    if any(getattr(h, _HANDLER_MARK, False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # not twice through a root handler


def gunicorn_logconfig() -> dict:
    """A ``logging.config.dictConfig`` for gunicorn's error and access logs, as JSON on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "o2o.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stderr"}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            # The app writes one richer line per request (o2o.request): no second, plain one.
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }
