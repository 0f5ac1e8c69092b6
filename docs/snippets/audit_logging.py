"""Write the audit events to a file of their own, one JSON object per line."""

from __future__ import annotations

import logging
from pathlib import Path

from bastion.auth import AUDIT_LOGGER
from bastion.observability import JsonFormatter, RequestIdFilter


def send_audit_lines_to(path: Path) -> logging.Handler:
    """Append every audit event to `path` as JSON, and keep it out of the application log."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    audit = logging.getLogger(AUDIT_LOGGER)
    audit.addHandler(handler)
    audit.setLevel(logging.INFO)
    audit.propagate = False
    return handler
