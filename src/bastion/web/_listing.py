"""List query parameters: allow-listed filters and sort from the query string, as typed filters.

```python
NoteList = Annotated[
    ListParams,
    Depends(list_query(NoteOut, filters={"done": ["eq"], "created_at": ["lt", "gt"]},
                       sort=["created_at", "title"])),
]

@router.get("")
async def list_notes(notes: Notes, query: NoteList) -> KeysetPage[NoteOut]:
    return await notes.list(query)   # repo.page(query.page, *query.filters, sort=query.sort)
```

`?done=true&created_at[gt]=2026-01-01T00:00:00Z&sort=-title&limit=20&cursor=...`:
a bare name is `eq`, `name[op]` any other operator. Values are parsed by the
DTO field's type. The next page's cursor is bound to the filters and sort it
was made with (see `BaseRepository.page`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, Request
from pydantic import BaseModel, TypeAdapter, ValidationError

from bastion.db import (
    Eq,
    Filter,
    Ge,
    Gt,
    In,
    InvalidFilterError,
    InvalidSortError,
    IsNull,
    Le,
    ListParams,
    Lt,
    Ne,
    NotIn,
    Search,
)
from bastion.web._database import KeysetQuery

__all__ = ["OPERATORS", "list_query"]

#: The operators a list may allow, by their query-string name.
OPERATORS: tuple[str, ...] = ("eq", "ne", "lt", "le", "gt", "ge", "in", "nin", "isnull", "search")
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,63})(?:\[([a-z]{1,16})\])?")
_RESERVED = frozenset({"limit", "cursor", "sort"})
_MAX_IN_VALUES = 100
_BOOL = TypeAdapter(bool)
_DESCRIPTIONS = {
    "eq": "Equal to.",
    "ne": "Not equal to.",
    "lt": "Less than.",
    "le": "Less than or equal to.",
    "gt": "Greater than.",
    "ge": "Greater than or equal to.",
    "in": "One of these comma-separated values.",
    "nin": "None of these comma-separated values.",
    "isnull": "`true`: no value; `false`: any value.",
    "search": "Contains this text, case-insensitively.",
}


def _value(adapter: TypeAdapter[object], raw: str) -> object:
    value = adapter.validate_python(raw)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # Stored moments are UTC-aware: a naive one names no instant.
            raise ValueError("a datetime needs a UTC offset")
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:  # 9999-12-31T23:59-01:00 is past year 9999 in UTC
            raise ValueError("the moment is out of range in UTC") from exc
    return value


def _value_schema(adapter: TypeAdapter[object]) -> dict[str, object]:
    """What a field's JSON schema says of a string value (`format`...), for its documented filters."""
    schema = adapter.json_schema()
    if schema.get("type") != "string":
        return {}
    return {key: schema[key] for key in ("format", "maxLength", "pattern") if key in schema}


def _documented(operator: str, value_schema: dict[str, object]) -> dict[str, object] | None:
    if operator == "isnull":
        return {"enum": ["true", "false"]}
    if operator in ("in", "nin", "search"):
        return None  # a list, or any text
    return value_schema or None


def _filter(field: str, operator: str, raw: str, adapter: TypeAdapter[object]) -> Filter:
    """Build one filter from its query-string value (parsed by the field's type)."""
    try:
        if "\x00" in raw:  # no column holds one; SQLite would end a pattern at it
            raise ValueError("a NUL character")
        if operator == "isnull":
            return IsNull(field, _BOOL.validate_python(raw))
        if operator == "search":
            return Search([field], raw)
        if operator in ("in", "nin"):
            values = raw.split(",")
            if len(values) > _MAX_IN_VALUES:
                raise InvalidFilterError(
                    f"At most {_MAX_IN_VALUES} values.", details={"field": field}
                )
            parsed = [_value(adapter, value) for value in values]
            return In(field, parsed) if operator == "in" else NotIn(field, parsed)
        value = _value(adapter, raw)
    except (ValidationError, ValueError) as exc:
        raise InvalidFilterError(
            f"The value of {field!r} is not valid.",
            details={"field": field, "operator": operator, "reason": "invalid_value"},
        ) from exc
    builders: dict[str, type[Eq | Ne | Lt | Le | Gt | Ge]] = {
        "eq": Eq,
        "ne": Ne,
        "lt": Lt,
        "le": Le,
        "gt": Gt,
        "ge": Ge,
    }
    return builders[operator](field, value)


def list_query(
    out: type[BaseModel],
    *,
    filters: Mapping[str, Collection[str]] | None = None,
    sort: Collection[str] = (),
    extra: Collection[str] = (),
) -> Callable[..., Awaitable[ListParams]]:
    """Build the dependency that reads a list's filters, sort and page from the query.

    Args:
        out: The list's DTO: its field types parse the filter values.
        filters: Field name to the operators allowed on it (see `OPERATORS`).
        sort: Fields a client may sort by (each also `-field`); they must be
            in the repository's `sortable` too.
        extra: Other query parameters the route reads itself (anything else
            that is not a filter, `sort`, `limit` or `cursor` is a 422).

    Returns:
        An async dependency returning `ListParams`. An unknown field or operator,
        a repeated filter or a value of the wrong type is 422 `INVALID_FILTER`;
        a sort outside `sort` is 422 `INVALID_SORT`; a cursor made for other
        filters or another sort is 422 `INVALID_CURSOR`.

    Raises:
        ValueError: An allowed field is not a field of `out`, or an operator is unknown.
    """
    allowed = {name: frozenset(ops) for name, ops in (filters or {}).items()}
    for name, ops in allowed.items():
        if name not in out.model_fields:
            raise ValueError(f"list_query: {name!r} is not a field of {out.__name__}")
        unknown = ops - set(OPERATORS)
        if unknown:
            raise ValueError(f"list_query: unknown operators {sorted(unknown)} for {name!r}")
    adapters = {name: TypeAdapter(out.model_fields[name].annotation or str) for name in allowed}
    sortable = frozenset(sort)
    passthrough = _RESERVED | frozenset(extra)
    sort_values = sorted(value for name in sortable for value in (name, f"-{name}"))

    async def read_list_query(
        request: Request,
        page: KeysetQuery,
        sort: Annotated[
            str | None,
            Query(max_length=70, description="A field to sort by; `-field` for descending."),
        ] = None,
        **_documented: str | None,  # the filters, for OpenAPI: read below from the raw query
    ) -> ListParams:
        sorts = request.query_params.getlist("sort")
        if len(sorts) > 1:  # as a repeated filter is refused: FastAPI would take the last
            raise InvalidSortError("'sort' is given more than once.", details={"sort": sorts})
        if sort is not None and sort.removeprefix("-") not in sortable:
            raise InvalidSortError(f"Cannot sort by {sort!r}.", details={"sort": sort})
        parsed: list[Filter] = []
        seen: set[str] = set()
        # Sorted, so the same filters in another order continue the same cursor.
        for key, raw in sorted(request.query_params.multi_items()):
            if key in passthrough:
                continue
            match = _KEY.fullmatch(key)
            field, operator = (match.group(1), match.group(2) or "eq") if match else (key, "")
            if field not in allowed:
                shown = field[:64]  # never echo an unbounded parameter name
                raise InvalidFilterError(f"Cannot filter on {shown!r}.", details={"field": shown})
            if operator not in allowed[field]:
                raise InvalidFilterError(
                    f"Cannot filter {field!r} with {operator!r}.",
                    details={"field": field, "operator": operator},
                )
            if key in seen:
                raise InvalidFilterError(
                    f"{key!r} is given more than once.", details={"field": field}
                )
            seen.add(key)
            parsed.append(_filter(field, operator, raw, adapters[field]))
        return ListParams(filters=tuple(parsed), sort=sort, page=page)

    # FastAPI reads a dependency's parameters from its signature: list every allowed
    # filter there, so the OpenAPI document shows them.
    signature = inspect.signature(read_list_query)
    fixed = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    if sort_values:  # the sorts allowed, as the schema's enum (the value is checked above)
        fixed = [
            p.replace(
                annotation=Annotated[
                    str | None,
                    Query(
                        max_length=70,
                        description="A field to sort by; `-field` for descending.",
                        json_schema_extra={"enum": sort_values},
                    ),
                ]
            )
            if p.name == "sort"
            else p
            for p in fixed
        ]
    # Typed `str` (the values are parsed above, into INVALID_FILTER errors), with what the
    # field's schema says of its text: a `date-time` format, a length.
    pairs = [(field, op) for field, ops in allowed.items() for op in sorted(ops)]
    schemas = {field: _value_schema(adapter) for field, adapter in adapters.items()}
    documented = [
        inspect.Parameter(
            f"filter_{index}",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str,
                Query(
                    alias=field if op == "eq" else f"{field}[{op}]",
                    description=_DESCRIPTIONS[op],
                    json_schema_extra=_documented(op, schemas[field]),
                ),
            ],
        )
        for index, (field, op) in enumerate(pairs)
    ]
    read_list_query.__signature__ = signature.replace(  # type: ignore[attr-defined]  # read by inspect.signature
        parameters=[*fixed, *documented]
    )
    return read_list_query
