"""Settings read from files: the secrets directory named by `BASTION_SECRETS_DIR`."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic_settings import BaseSettings, SecretsSettingsSource, SettingsError

__all__ = ["SECRETS_DIR_VARIABLE", "secrets_dir_source"]

#: The variable naming the secrets directory, after the settings' prefix (`BASTION_`).
SECRETS_DIR_VARIABLE = "SECRETS_DIR"


def secrets_dir_source(settings_cls: type[BaseSettings]) -> SecretsSettingsSource | None:
    """The settings source reading one file per setting from `<PREFIX>SECRETS_DIR`.

    Docker and Kubernetes mount secrets as files (`/run/secrets/secret_key`), so
    each file is named after its field, without the prefix: `secret_key`,
    `database_url`, `redis_url` (case-insensitive); a trailing newline is dropped.

    Args:
        settings_cls: The settings class being built (its `env_prefix` names the variable).

    Returns:
        The source, or None when the variable is unset or empty.

    Raises:
        SettingsError: The variable names a path that is not a directory: a
            deployment that mounts its secrets somewhere else must not start on
            defaults.
    """
    variable = f"{settings_cls.model_config.get('env_prefix', '')}{SECRETS_DIR_VARIABLE}"
    value = os.environ.get(variable, "")
    if not value:
        return None
    directory = Path(value).expanduser()
    if not directory.is_dir():
        raise SettingsError(
            f"{variable} names {value!r}, which is not a directory: mount the secrets "
            f"there or unset {variable}"
        )
    return SecretsSettingsSource(settings_cls, secrets_dir=directory, env_prefix="")
