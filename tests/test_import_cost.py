"""`import bastion` stays cheap: the heavy libraries load when their feature is first used."""

from __future__ import annotations

import json
import subprocess
import sys

# Each loads only with the feature that needs it: password hashing, keys and
# encryption, JWTs, TOTP, Redis, metrics, jobs, migrations, the tracing SDK.
HEAVY = (
    "argon2",
    "cryptography",
    "jwt",
    "pyotp",
    "redis",
    "prometheus_client",
    "arq",
    "alembic",
    "opentelemetry.sdk",
    "opentelemetry.exporter",
)


def _loaded_after(code: str) -> list[str]:
    """The HEAVY packages in `sys.modules` after running `code` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(  # noqa: S603 - the test's own interpreter and script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.splitlines()[-1])
    return sorted(
        {heavy for heavy in HEAVY for m in modules if m == heavy or m.startswith(heavy + ".")}
    )


def test_import_bastion_loads_no_heavy_optional_library() -> None:
    assert _loaded_after("import bastion, bastion.security, bastion.auth") == []


def test_the_pytest_plugin_loads_no_heavy_optional_library() -> None:
    # Every pytest run of a host imports it (entry point `pytest11`), tests or not.
    assert _loaded_after("import bastion.testing") == []


def test_a_security_primitive_loads_its_library_at_first_use() -> None:
    code = """
from bastion.security import PasswordHasher, SecretBox, TokenService, TotpService
PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SecretBox(b"k" * 32)
TotpService(issuer="test").generate_secret()
TokenService(algorithm="HS256", signing_key=b"s" * 32, issuer="i", audience="a")
"""
    assert _loaded_after(code) == ["argon2", "cryptography", "jwt", "pyotp"]
