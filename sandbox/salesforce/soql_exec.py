"""SOQL execution over the org's in-memory tables: field resolution (incl. relationship paths), type checks
of filter values like the real API, filtering, ordering, LIMIT/OFFSET, and the REST record shape."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from .ids import is_id
from .org import Org, parse_datetime
from .schema import STRING_TYPES, FieldDef, ObjectDef
from .soql import And, Compare, Condition, In, Like, Not, Or, Path, Query, Value, parse, soql_error

__all__ = ["QueryResult", "run_query"]

Getter = Callable[[dict[str, Any]], Any]


@dataclasses.dataclass
class QueryResult:
    total_size: int
    records: list[dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class _Field:
    path: Path
    steps: tuple[tuple[FieldDef, ObjectDef], ...]  # relationship hops: (reference field, target object)
    field: FieldDef
    getter: Getter


def run_query(org: Org, text: str, *, include_deleted: bool, version: str) -> QueryResult:
    query = parse(text)
    obj = org.object_def(query.sobject)
    if obj is None or "query" not in obj.calls:
        raise soql_error(
            text,
            query.sobject_column,
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name. Please reference "
            "your WSDL or the describe call for the appropriate names.",
            "INVALID_TYPE",
        )
    selected = _select(org, obj, query)
    predicate = _compile(org, obj, query, query.where) if query.where is not None else None
    rows = [r for r in org.store.table(obj.name).values() if include_deleted or not r.get("IsDeleted")]
    if predicate is not None:
        rows = [r for r in rows if predicate(r)]
    rows = _order(org, obj, query, rows)
    if query.offset:
        rows = rows[query.offset :]
    if query.limit is not None:
        rows = rows[: query.limit]
    if selected is None:
        return QueryResult(len(rows), [])
    return QueryResult(len(rows), [_shape(org, obj, r, selected, version) for r in rows])


def _select(org: Org, obj: ObjectDef, query: Query) -> list[_Field] | None:
    if query.fields is None:
        return None
    seen: set[str] = set()
    fields = []
    for path in query.fields:
        resolved = _resolve(org, obj, query, path)
        key = ".".join([*(s[0].relationship_name or "" for s in resolved.steps), resolved.field.name]).lower()
        if key in seen:
            raise soql_error(query.text, path.column, f"duplicate field selected: {path.text}")
        seen.add(key)
        fields.append(resolved)
    return fields


def _resolve(org: Org, obj: ObjectDef, query: Query, path: Path) -> _Field:
    steps: list[tuple[FieldDef, ObjectDef]] = []
    current = obj
    for part in path.parts[:-1]:
        reference = current.relationship(part)
        target = org.object_def(reference.reference_to[0]) if reference else None
        if reference is None or target is None:
            raise soql_error(
                query.text,
                path.column,
                f"Didn't understand relationship '{part}' in field path. If you are attempting to "
                "use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the "
                "appropriate names.",
                "INVALID_FIELD",
            )
        steps.append((reference, target))
        current = target
    field = current.field(path.parts[-1])
    if field is None:
        raise soql_error(
            query.text,
            path.column,
            f"No such column '{path.parts[-1]}' on entity '{current.name}'. If you are attempting "
            "to use a custom field, be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
            "INVALID_FIELD",
        )
    store = org.store
    hops = tuple(steps)
    name = field.name

    def getter(record: dict[str, Any]) -> Any:
        current_record: dict[str, Any] | None = record
        for reference, target in hops:
            ref_id = current_record.get(reference.name) if current_record else None
            current_record = store.get(target.name, ref_id) if ref_id else None
            if current_record is None:
                return None
        return current_record.get(name) if current_record else None

    return _Field(path, hops, field, getter)


# -- filters ------------------------------------------------------------------------------------------------


def _compile(org: Org, obj: ObjectDef, query: Query, cond: Condition) -> Callable[[dict[str, Any]], bool]:
    if isinstance(cond, And):
        parts = [_compile(org, obj, query, c) for c in cond.items]
        return lambda r: all(p(r) for p in parts)
    if isinstance(cond, Or):
        parts = [_compile(org, obj, query, c) for c in cond.items]
        return lambda r: any(p(r) for p in parts)
    if isinstance(cond, Not):
        inner = _compile(org, obj, query, cond.item)
        return lambda r: not inner(r)
    resolved = _resolve(org, obj, query, cond.path)
    get = resolved.getter
    kind = resolved.field.type
    if isinstance(cond, Like):
        if kind not in STRING_TYPES or cond.value.kind != "string":
            raise soql_error(
                query.text, cond.path.column, f"invalid operator on {kind} field", "INVALID_QUERY_FILTER_OPERATOR"
            )
        pattern = _like_regex(cond.value.value)
        return lambda r: isinstance(v := get(r), str) and pattern.match(v) is not None
    if isinstance(cond, In):
        keys = {_check(query, resolved, value, "IN") for value in cond.values}
        normalize = _normalizer(kind)
        if cond.negated:
            return lambda r: normalize(get(r)) not in keys
        return lambda r: normalize(get(r)) in keys
    assert isinstance(cond, Compare)
    return _comparison(query, resolved, cond)


def _comparison(query: Query, resolved: _Field, cond: Compare) -> Callable[[dict[str, Any]], bool]:
    get = resolved.getter
    kind = resolved.field.type
    value = cond.value
    op = cond.op
    if value.kind == "null":
        if op not in ("=", "!="):
            raise soql_error(
                query.text, value.column, "invalid operator on null value", "INVALID_QUERY_FILTER_OPERATOR"
            )
        return (lambda r: get(r) is None) if op == "=" else (lambda r: get(r) is not None)
    if kind == "boolean" and op not in ("=", "!="):
        raise soql_error(
            query.text, cond.path.column, "invalid operator on boolean field", "INVALID_QUERY_FILTER_OPERATOR"
        )
    if kind == "datetime" and value.kind == "date_literal":
        start, end = _date_range(*value.value)
        tests: dict[str, Callable[[dt.datetime], bool]] = {
            "=": lambda v: start <= v < end,
            "!=": lambda v: not start <= v < end,
            "<": lambda v: v < start,
            "<=": lambda v: v < end,
            ">": lambda v: v >= end,
            ">=": lambda v: v >= start,
        }
        test = tests[op]
        return lambda r: (v := get(r)) is not None and test(parse_datetime(v))
    key = _check(query, resolved, value, op)
    normalize = _normalizer(kind)
    compare: Callable[[Any, Any], bool] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op]
    if op == "!=":
        return lambda r: compare(normalize(get(r)), key)
    return lambda r: (v := normalize(get(r))) is not None and compare(v, key)


def _normalizer(kind: str) -> Callable[[Any], Any]:
    if kind in STRING_TYPES:
        return lambda v: v.casefold() if isinstance(v, str) else v
    if kind in ("id", "reference"):
        return lambda v: v[:15] if isinstance(v, str) else v
    if kind == "datetime":
        return lambda v: parse_datetime(v) if isinstance(v, str) else v
    return lambda v: v


def _check(query: Query, resolved: _Field, value: Value, op: str) -> Any:
    """Validate a filter value against the field type like the real API; return its comparison key."""
    kind = resolved.field.type
    name = resolved.field.name

    def wrong(expected: str, quoted: bool) -> Exception:
        quoting = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        return soql_error(
            query.text,
            value.column,
            f"value of filter criterion for field '{name}' must be of type {expected} and {quoting}",
            "INVALID_QUERY_FILTER_OPERATOR",
        )

    if value.kind == "null":
        if op == "IN":
            return None
        raise wrong(kind, False)
    if kind in STRING_TYPES:
        if value.kind != "string":
            raise wrong("string", True)
        return value.value.casefold()
    if kind in ("id", "reference"):
        if value.kind != "string":
            raise wrong("id", True)
        if not is_id(value.value):
            raise soql_error(
                query.text, value.column, f"invalid ID field: {value.value}", "INVALID_QUERY_FILTER_OPERATOR"
            )
        return value.value[:15]
    if kind == "boolean":
        if value.kind != "boolean":
            raise wrong("boolean", False)
        return value.value
    if kind in ("int", "double"):
        if value.kind != "number":
            raise wrong("double" if kind == "double" else "integer", False)
        return value.value
    if kind == "datetime":
        if value.kind != "datetime":
            raise wrong("dateTime", False)
        return value.value
    raise wrong(kind, False)  # pragma: no cover - every field type is handled above


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL)


def _date_range(name: str, n: int) -> tuple[dt.datetime, dt.datetime]:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = dt.timedelta(days=1)
    week_start = today - dt.timedelta(days=(today.weekday() + 1) % 7)  # weeks start on Sunday
    month_start = today.replace(day=1)

    def add_months(value: dt.datetime, months: int) -> dt.datetime:
        year, month = divmod(value.month - 1 + months, 12)
        return value.replace(year=value.year + year, month=month + 1)

    ranges = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "THIS_WEEK": (week_start, week_start + 7 * day),
        "LAST_WEEK": (week_start - 7 * day, week_start),
        "NEXT_WEEK": (week_start + 7 * day, week_start + 14 * day),
        "THIS_MONTH": (month_start, add_months(month_start, 1)),
        "LAST_MONTH": (add_months(month_start, -1), month_start),
        "NEXT_MONTH": (add_months(month_start, 1), add_months(month_start, 2)),
        "LAST_N_DAYS": (today - n * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (n + 1) * day),
    }
    return ranges[name]


# -- ordering and shape -------------------------------------------------------------------------------------


def _order(org: Org, obj: ObjectDef, query: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in reversed(query.order):
        resolved = _resolve(org, obj, query, item.path)
        normalize = _normalizer(resolved.field.type)
        values = {id(r): normalize(resolved.getter(r)) for r in rows}
        present = [r for r in rows if values[id(r)] is not None]
        missing = [r for r in rows if values[id(r)] is None]
        present.sort(key=lambda r: values[id(r)], reverse=item.descending)
        rows = missing + present if item.nulls_first else present + missing
    return rows


def _attributes(obj: ObjectDef, record_id: str | None, version: str) -> dict[str, str]:
    attributes = {"type": obj.name}
    if record_id:
        attributes["url"] = f"/services/data/v{version}/sobjects/{obj.name}/{record_id}"
    return attributes


def _shape(org: Org, obj: ObjectDef, record: dict[str, Any], fields: list[_Field], version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": _attributes(obj, record.get("Id"), version)}
    for selected in fields:
        node: dict[str, Any] | None = out
        current: dict[str, Any] | None = record
        for reference, target in selected.steps:
            key = reference.relationship_name or reference.name
            ref_id = current.get(reference.name) if current else None
            current = org.store.get(target.name, ref_id) if ref_id else None
            if node is None:
                break
            if current is None:
                node.setdefault(key, None)
                node = None
                break
            child = node.get(key)
            if child is None:
                child = {"attributes": _attributes(target, current.get("Id"), version)}
                node[key] = child
            node = child
        if node is not None and current is not None:
            node[selected.field.name] = current.get(selected.field.name)
    return out
