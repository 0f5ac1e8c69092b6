"""Every edge test runs against both compositions of the stack."""

from __future__ import annotations

import pytest

from tests.edge import edge_composition

__all__ = ["edge_composition"]


@pytest.fixture(autouse=True)
def _both_compositions(edge_composition: str) -> str:
    return edge_composition
