"""How many CPUs this process may use: its affinity, capped by its cgroup v2 CPU quota."""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["available_cpus"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_PROC_CGROUP = Path("/proc/self/cgroup")


def available_cpus(*, cgroup_root: Path = _CGROUP_ROOT, proc_cgroup: Path = _PROC_CGROUP) -> int:
    """The CPUs this process may run on, at least 1.

    `os.cpu_count()` counts the host's CPUs; a container or a pinned process
    may use far fewer. This takes the CPUs of the process's affinity mask
    (`os.sched_getaffinity`) and caps them by the tightest cgroup v2 quota
    (`cpu.max`, `quota period`) from the process's cgroup up to the root,
    rounded down: a 1.5-CPU quota lets one CPU's worth of work run unthrottled.

    Args:
        cgroup_root: Where the cgroup v2 hierarchy is mounted.
        proc_cgroup: The file naming the process's cgroup.

    Returns:
        The number of CPUs.
    """
    if hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS and Windows have no affinity call
        count = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        count = min(count, math.floor(quota))
    return max(1, count)


def _cgroup_quota(root: Path, proc_cgroup: Path) -> float | None:
    """The tightest `cpu.max` quota, in CPUs, on the way from the process's cgroup to `root`."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    # cgroup v2 names the process's group on the line `0::/path`.
    path = next((line[3:] for line in lines if line.startswith("0::")), None)
    if path is None:
        return None
    directory = root / path.lstrip("/")
    tightest: float | None = None
    while True:
        quota = _cpu_max(directory / "cpu.max")
        if quota is not None and (tightest is None or quota < tightest):
            tightest = quota
        if directory == root or root not in directory.parents:
            return tightest
        directory = directory.parent


def _cpu_max(path: Path) -> float | None:
    """The quota a `cpu.max` file sets, in CPUs (`None`: no file, or `max`)."""
    try:
        quota, _, period = path.read_text().strip().partition(" ")
        cpus = int(quota) / int(period or "100000")
    except (OSError, ValueError, ZeroDivisionError):
        return None  # "max" (no quota) does not parse as a number either
    return cpus if cpus > 0 else None
