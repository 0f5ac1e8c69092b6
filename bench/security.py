"""Cost of the security primitives at the configured parameters.

- argon2id hash and verify latency (median of sequential calls) and verify throughput when
  many run at once through `PasswordHasher`'s capacity limiter;
- how late a 1 ms event-loop tick runs while a burst of verifications is in flight (the
  primitive-level view of "login never stalls the loop"; the app-level /health figure needs
  the auth routes);
- JWT issue and verify cost per token (µs) for each algorithm family;
- the password policy check.

Settings come from the environment (`BASTION_PASSWORD_HASH_*`), defaults otherwise.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bastion.core import BastionSettings
from bastion.security import PasswordHasher, PasswordPolicy, TokenService

SEQUENTIAL = 10
BURST = 20
TOKENS = 2000


async def _hashing(settings: BastionSettings) -> None:
    hasher = PasswordHasher.from_settings(settings)
    print(
        f"argon2id t={settings.password_hash_time_cost} m={settings.password_hash_memory_cost} KiB "
        f"p={settings.password_hash_parallelism}, concurrency={hasher.concurrency} "
        f"(cores: {os.cpu_count()})"
    )
    stored = await hasher.hash("correct horse battery staple")
    hash_ms, verify_ms = [], []
    for _ in range(SEQUENTIAL):
        start = time.perf_counter()
        await hasher.hash("correct horse battery staple")
        hash_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        await hasher.verify(stored, "correct horse battery staple")
        verify_ms.append((time.perf_counter() - start) * 1000)
    print(f"  hash   median {statistics.median(hash_ms):7.1f} ms")
    print(f"  verify median {statistics.median(verify_ms):7.1f} ms")

    idle = await _tick_lateness(lambda: None, seconds=0.5)
    for concurrency in sorted({1, hasher.concurrency, os.cpu_count() or 1}):
        limited = PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_cost,
            parallelism=settings.password_hash_parallelism,
            concurrency=concurrency,
        )
        start = time.perf_counter()
        burst = asyncio.gather(*(limited.verify(stored, "wrong") for _ in range(BURST)))
        busy = await _tick_lateness(burst.done, seconds=None)
        await burst
        elapsed = time.perf_counter() - start
        print(
            f"  {BURST} concurrent verifies, concurrency {concurrency}: "
            f"{BURST / elapsed:5.1f} verifies/s; 1 ms tick lateness p99 "
            f"{_p99(busy):6.2f} ms (idle p99 {_p99(idle):5.2f} ms)"
        )


async def _tick_lateness(done: Callable[[], object], seconds: float | None) -> list[float]:
    """Sleep 1 ms repeatedly and record how late each wake-up was, in ms."""
    lateness: list[float] = []
    deadline = time.perf_counter() + (seconds if seconds is not None else 60.0)
    while time.perf_counter() < deadline and not (seconds is None and done()):
        start = time.perf_counter()
        await asyncio.sleep(0.001)
        lateness.append(max(0.0, (time.perf_counter() - start) * 1000 - 1.0))
    return lateness or [0.0]


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _pem(
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _tokens() -> None:
    keys: list[tuple[str, str | bytes]] = [
        ("HS256", b"k" * 32),
        ("RS256", _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))),
        ("ES256", _pem(ec.generate_private_key(ec.SECP256R1()))),
        ("EdDSA", _pem(ed25519.Ed25519PrivateKey.generate())),
    ]
    print(f"{'JWT':8} {'issue µs':>9} {'verify µs':>10}")
    for algorithm, key in keys:
        service = TokenService(
            algorithm=algorithm, signing_key=key, issuer="bench", audience="bench"
        )
        count = TOKENS if algorithm != "RS256" else TOKENS // 4
        start = time.perf_counter()
        tokens = [service.issue_access_token("42", session_id="s") for _ in range(count)]
        issue_us = (time.perf_counter() - start) / count * 1e6
        start = time.perf_counter()
        for token in tokens:
            service.verify_access_token(token)
        verify_us = (time.perf_counter() - start) / count * 1e6
        print(f"{algorithm:8} {issue_us:9.1f} {verify_us:10.1f}")


async def _policy(settings: BastionSettings) -> None:
    policy = PasswordPolicy.from_settings(settings)
    await policy.check("warm up the list")
    start = time.perf_counter()
    for index in range(500):
        await policy.check(f"a reasonable passphrase {index}", email="bob@example.com")
    print(f"password policy check: {(time.perf_counter() - start) / 500 * 1e6:.1f} µs")


async def run() -> None:
    settings = BastionSettings()
    await _hashing(settings)
    _tokens()
    await _policy(settings)


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
