"""Stdlib logging: JSON lines in production, readable lines elsewhere, request ids on every record."""

from __future__ import annotations

import logging
import sys
import time

import orjson
from opentelemetry import trace

from bastion.core import get_request_id

__all__ = [
    "JsonFormatter",
    "RequestIdFilter",
    "TextFormatter",
    "configure_logging",
    "install_request_id_factory",
]

# Attributes every LogRecord has; anything else was passed through `extra=`. Also left
# out: `color_message`, uvicorn's copy of the message with terminal colour codes.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id", "trace_id", "span_id", "color_message"}
)
_HANDLER_NAME = "bastion"


def _trace_ids(record: logging.LogRecord) -> None:
    """Put the active span's trace and span ids (hex) on `record`, or None outside a span."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        record.trace_id = f"{context.trace_id:032x}"
        record.span_id = f"{context.span_id:016x}"
    else:
        record.trace_id = record.span_id = None


def install_request_id_factory() -> None:
    """Give every `LogRecord` created from now on `request_id`, `trace_id`, `span_id` (idempotent).

    A record factory reaches records of every logger and handler, including
    those of a host that configures logging itself; the request id is `-`
    outside a request, the trace and span ids None outside a span.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_bastion_request_id", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = get_request_id() or "-"
        _trace_ids(record)
        return record

    factory._bastion_request_id = True  # type: ignore[attr-defined]  # idempotence marker
    logging.setLogRecordFactory(factory)


class RequestIdFilter(logging.Filter):
    """Put the current request id (or `-`) and trace ids on every record.

    As `record.request_id`, and the active span's `record.trace_id` and
    `record.span_id` (None outside a span).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate `record`; never drops it."""
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id() or "-"
        if not hasattr(record, "trace_id"):
            _trace_ids(record)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, extras, exception.

    The ids are the request id and, while a span is active, `trace_id` and `span_id`.
    """

    def __init__(self) -> None:
        """Render times in UTC, ISO 8601 with milliseconds."""
        super().__init__()
        # Every line of one second shares its date and time: rendered once per second.
        self._second = -1
        self._stamp = ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as a JSON line."""
        payload: dict[str, object] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or get_request_id(),
        }
        trace_id = getattr(record, "trace_id", None)
        if trace_id is not None:
            payload["trace_id"] = trace_id
            payload["span_id"] = getattr(record, "span_id", None)
        attributes = record.__dict__
        for key in attributes.keys() - _STANDARD_ATTRS:  # what `extra=` added
            if not key.startswith("_"):
                payload[key] = attributes[key]
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str).decode()


class TextFormatter(logging.Formatter):
    """Readable development lines: `time level [request id] logger: message`.

    While a span is active the line ends with `trace_id=... span_id=...`.
    """

    def __init__(self) -> None:
        """Use the bastion text layout."""
        super().__init__("%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as a text line."""
        line = super().format(record)
        trace_id = getattr(record, "trace_id", None)
        if trace_id is None:
            return line
        return f"{line} trace_id={trace_id} span_id={getattr(record, 'span_id', None)}"


def configure_logging(*, level: str | int = "INFO", json: bool = False) -> None:
    """Configure the root logger for a bastion app (idempotent).

    Replaces only the handler bastion installed before, so a host's own
    handlers stay. Hosts that configure logging themselves turn this off with
    `BASTION_CONFIGURE_LOGGING=false` and add `RequestIdFilter` to their handlers.

    Args:
        level: Root log level.
        json: JSON lines (production) instead of text.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Uvicorn's own access log would duplicate bastion's (which has the route and id).
    logging.getLogger("uvicorn.access").disabled = True
