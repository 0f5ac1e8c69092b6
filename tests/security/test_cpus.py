"""Hashing concurrency follows the CPUs this process may use, not the host's count."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bastion.security import PasswordHasher, available_cpus

_AFFINITY = hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2


@pytest.mark.skipif(not _AFFINITY, reason="needs an affinity mask of two CPUs or more")
def test_hashing_concurrency_follows_the_process_cpu_affinity() -> None:
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})  # this thread may now run on one CPU only
    try:
        pinned = PasswordHasher(parallelism=1).concurrency
    finally:
        os.sched_setaffinity(0, allowed)
    assert os.cpu_count() != 1
    assert pinned == 1
    assert PasswordHasher(parallelism=1).concurrency == len(allowed)


def _cgroup(tmp_path: Path, quotas: dict[str, str]) -> tuple[Path, Path]:
    """A cgroup v2 tree under `tmp_path` with `cpu.max` files, the process in `app/worker`."""
    root = tmp_path / "cgroup"
    for group, quota in quotas.items():
        (root / group).mkdir(parents=True, exist_ok=True)
        (root / group / "cpu.max").write_text(quota + "\n")
    (root / "app" / "worker").mkdir(parents=True, exist_ok=True)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text("0::/app/worker\n")
    return root, proc


@pytest.mark.parametrize(
    ("quotas", "expected"),
    [
        ({"app/worker": "max 100000"}, None),  # no quota: the affinity decides
        ({"app/worker": "150000 100000"}, 1),  # 1.5 CPUs: one runs unthrottled
        ({"app": "100000 100000", "app/worker": "max 100000"}, 1),  # a parent's quota binds
        ({"app/worker": "50000 100000"}, 1),  # never below one
        ({"app/worker": "garbage"}, None),
    ],
)
def test_a_cgroup_v2_cpu_quota_caps_the_cpus(
    tmp_path: Path, quotas: dict[str, str], expected: int | None
) -> None:
    root, proc = _cgroup(tmp_path, quotas)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    found = available_cpus(cgroup_root=root, proc_cgroup=proc)
    assert found == (affinity if expected is None else min(affinity, expected))


def test_without_cgroup_v2_the_affinity_decides(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    assert available_cpus(cgroup_root=missing, proc_cgroup=missing) >= 1
    assert available_cpus() <= (os.cpu_count() or 1)
