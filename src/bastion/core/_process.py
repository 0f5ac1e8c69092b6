"""This process's random name: drawn at import, and again in a forked child."""

from __future__ import annotations

import os

__all__ = ["process_name"]

_name = os.urandom(8).hex()


def process_name() -> str:
    """16 hex characters (64 random bits) naming this process among its peers.

    What keeps per-process things apart without a system call: the prefix of
    fresh request ids, the counters a process keeps for itself in shared
    storage. A forked worker draws its own.
    """
    return _name


def _rename() -> None:
    global _name  # the one process-wide value, replaced in a forked child
    _name = os.urandom(8).hex()


os.register_at_fork(after_in_child=_rename)
