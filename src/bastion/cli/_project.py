"""Where a host project keeps its app and migrations: `--option`, `BASTION_*`, `[tool.bastion]`.

Each command that needs a location takes it from, in order: its command-line
option, an environment variable, then the nearest `pyproject.toml` (from the
working directory upward) that has a `[tool.bastion]` table:

```toml
[tool.bastion]
app = "notes_app.main:create_notes_app"
migrations = "notes_app:migrations"
```
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MissingSettingError", "Project", "find_project"]

#: The project file searched for, from the working directory upward.
PYPROJECT = "pyproject.toml"


class MissingSettingError(Exception):
    """A location was given by no option, variable or `[tool.bastion]` key."""


@dataclass(frozen=True, slots=True)
class Project:
    """The host project the command runs in.

    Attributes:
        root: The directory of the `pyproject.toml` that configures bastion, or the
            working directory when there is none.
        tool: Its `[tool.bastion]` table (empty without one).
        source: The file the table was read from, when there is one.
    """

    root: Path
    tool: dict[str, object] = field(default_factory=dict)
    source: Path | None = None

    def setting(
        self, key: str, *, option: str | None, variable: str, location: bool = False
    ) -> str:
        """A location from the command line, else the environment, else `[tool.bastion]`.

        Args:
            key: The key of `[tool.bastion]` (`app`, `migrations`).
            option: The command-line value, when given.
            variable: The environment variable (`BASTION_APP`, `BASTION_MIGRATIONS`).
            location: The value names a directory or a `package:path` resource.

        Returns:
            The value; a directory from `[tool.bastion]` (not a `package:path`
            resource) is resolved against the project's root.

        Raises:
            MissingSettingError: No source gives it.
        """
        if option:
            return option
        from_env = os.environ.get(variable)
        if from_env:
            return from_env
        value = self.tool.get(key)
        if isinstance(value, str) and value:
            return str(self.root / value) if location and not _is_resource(value) else value
        raise MissingSettingError(
            f"no {key} location: pass --{key}, set {variable}, or add "
            f'`{key} = "..."` under [tool.bastion] in {PYPROJECT}'
        )

    def importable(self) -> None:
        """Put the project's root first on the import path, as `alembic` does with `prepend_sys_path`.

        A host package that is not installed imports from its source tree.
        """
        root = str(self.root)
        if root not in sys.path:
            sys.path.insert(0, root)


def _is_resource(value: str) -> bool:
    """`package:path` (an Alembic package resource), not a directory."""
    head, sep, _ = value.partition(":")
    # A one-letter head is a Windows drive (`C:\\migrations`), not a package.
    return bool(sep) and len(head) > 1 and head.replace(".", "").replace("_", "").isalnum()


def find_project(start: Path | None = None) -> Project:
    """Find the nearest `pyproject.toml` with a `[tool.bastion]` table, from `start` upward.

    Args:
        start: Where the search begins (the working directory by default).

    Returns:
        The project; without such a file, one rooted at `start` with no settings.

    Raises:
        ValueError: A `pyproject.toml` on the way is not valid TOML, or its
            `[tool.bastion]` is not a table.
    """
    origin = (start or Path.cwd()).resolve()
    for directory in (origin, *origin.parents):
        candidate = directory / PYPROJECT
        if not candidate.is_file():
            continue
        try:
            document = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{candidate} is not valid TOML: {exc}") from exc
        tool = document.get("tool", {}).get("bastion")
        if tool is None:
            continue
        if not isinstance(tool, dict):
            raise ValueError(f"[tool.bastion] in {candidate} must be a table")
        return Project(root=directory, tool=tool, source=candidate)
    return Project(root=origin)
