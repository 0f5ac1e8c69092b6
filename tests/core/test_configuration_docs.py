"""The configuration reference page and `BastionSettings` agree."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from bastion.core import DEFAULT_SECRET_KEY, BastionSettings
from bastion.core._secret_files import SECRETS_DIR_VARIABLE

DOC = Path(__file__).parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(BASTION_[A-Z0-9_]+)` \| ([^|]*) \| ([^|]+) \|$")


def _documented() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = match.group(2).strip()
    return rows


def _expected_default(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        return "development key" if secret == DEFAULT_SECRET_KEY else f"`{secret}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def test_every_setting_is_documented_with_its_default() -> None:
    documented = _documented()
    expected = {
        f"BASTION_{name.upper()}": _expected_default(
            field.get_default(call_default_factory=True, validated_data={})
        )
        for name, field in BastionSettings.model_fields.items()
    }
    # Read by the settings class itself, before the fields: where the secret files are.
    expected[f"BASTION_{SECRETS_DIR_VARIABLE}"] = "unset"
    assert set(documented) == set(expected), "settings and docs/configuration.md differ"
    for variable, default in expected.items():
        assert documented[variable] == default, f"{variable}: docs say {documented[variable]}"
