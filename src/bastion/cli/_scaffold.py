"""`bastion db init`: write a migrations package that needs no `alembic.ini`."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Scaffold", "migrations_directory", "write_scaffold"]

_ENV = '''"""Alembic environment: bastion reads the database URL and schema from the settings."""

{imports}
run_migrations(Base.metadata{settings_argument})
'''

_MODELS_PLACEHOLDER = (
    "# Import the modules that define your models, so their tables are on Base.metadata:\n"
    "# import your_app.models\n"
)

# Alembic's own template, typed; `render_item` (bastion's env) keeps bastion's types out.
SCRIPT_TEMPLATE = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


@dataclass(frozen=True, slots=True)
class Scaffold:
    """What `bastion db init` writes.

    Attributes:
        models: Modules to import so their tables are on `Base.metadata`.
        settings: The settings class as `module:Class` (None: `BastionSettings`).
    """

    models: tuple[str, ...] = ()
    settings: str | None = None

    def env_py(self) -> str:
        """The text of `env.py`."""
        lines = [f"import {module}  # noqa: F401  # registers its tables" for module in self.models]
        lines += ["from bastion.db import Base", "from bastion.db.migrations import run_migrations"]
        argument = ""
        if self.settings is not None:
            module, _, name = self.settings.partition(":")
            lines.append(f"from {module} import {name}")
            argument = f", settings_factory={name}"
        imports = "\n".join(sorted(lines, key=_import_order)) + "\n"
        if not self.models:
            imports = _MODELS_PLACEHOLDER + imports
        return _ENV.format(imports=imports, settings_argument=argument)


def _import_order(line: str) -> tuple[int, str]:
    # `import x` lines before `from x import y`, as ruff's isort orders them.
    return (0 if line.startswith("import ") else 1, line.split()[1])


def migrations_directory(location: str) -> Path:
    """The directory a location names: itself, or a package resource's directory.

    Args:
        location: A directory, or `package:path` (`notes_app:migrations`).

    Raises:
        ValueError: The package cannot be found, or is a single module.
    """
    package, sep, relative = location.partition(":")
    if not sep or len(package) < 2:
        return Path(location)
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{package!r} is not an importable package (for {location!r})")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def write_scaffold(directory: Path, scaffold: Scaffold) -> list[Path]:
    """Write `env.py`, `script.py.mako`, `versions/` and `__init__.py` under `directory`.

    Returns:
        The files and directories written.

    Raises:
        FileExistsError: `directory` exists and is not empty (nothing is overwritten).
    """
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} already exists and is not empty")
    versions = directory / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    files = {
        directory / "__init__.py": '"""Database migrations (Alembic), run by `bastion db`."""\n',
        directory / "env.py": scaffold.env_py(),
        directory / "script.py.mako": SCRIPT_TEMPLATE,
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return [*files, versions]
