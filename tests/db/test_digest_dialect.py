"""The cursor filter digest compiles like SQLAlchemy's own dialect-less `compile()`."""

from __future__ import annotations

from sqlalchemy import column, table
from sqlalchemy.engine.default import StrCompileDialect


def test_the_digest_dialect_compiles_as_compile_without_a_dialect_does() -> None:
    # `StrCompileDialect` is not documented; the pinned SQLAlchemy must still be
    # what `compile()` falls back to, so digests match what a reader of the
    # default compilation expects, and must bind the same parameters.
    notes = table("notes", column("title"), column("owner_id"))
    clause = (notes.c.title.like("a%")) & (notes.c.owner_id == 7)
    ours, default = clause.compile(dialect=StrCompileDialect()), clause.compile()
    assert isinstance(default.dialect, StrCompileDialect)
    assert str(ours) == str(default)
    assert ours.params == default.params == {"title_1": "a%", "owner_id_1": 7}
