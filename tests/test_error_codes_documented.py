"""Every error code bastion can answer with is in the errors page's tables."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import bastion
from bastion.errors import BastionError

ERRORS_PAGE = Path(__file__).parents[1] / "docs" / "errors.md"
# Codes set per instance or rendered by middleware rather than by a class.
INSTANCE_CODES = {
    "CORS_REJECTED",
    "INVALID_HOST",
    "EMAIL_TAKEN",
    "MFA_ALREADY_ENABLED",
    "MFA_NOT_ENABLED",
    "MFA_NOT_SET_UP",
}


def _subclasses(cls: type[BastionError]) -> set[type[BastionError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_code_is_documented() -> None:
    for module in pkgutil.walk_packages(bastion.__path__, "bastion."):
        importlib.import_module(module.name)
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", ERRORS_PAGE.read_text()))
    codes = {cls.code for cls in _subclasses(BastionError) if cls.__module__.startswith("bastion")}
    missing = sorted((codes | INSTANCE_CODES | {BastionError.code}) - documented)
    assert not missing, f"codes missing from docs/errors.md: {missing}"
