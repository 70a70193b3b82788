"""SOQL parsing: the grammar in ``soql.lark`` (lark, LALR) turned into a small typed AST.

Parse errors become ``ApiError(400, MALFORMED_QUERY)`` with the real API's "ERROR at Row:..:Column:.."
message layout. Parsed queries are cached: clients repeat the same query strings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import pathlib
from typing import Any

import lark

from .errors import ApiError

__all__ = ["And", "Compare", "Condition", "In", "Like", "Not", "Or", "Path", "Query", "Value", "parse", "soql_error"]


@dataclasses.dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]
    column: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclasses.dataclass(frozen=True)
class Value:
    kind: str  # string | number | boolean | null | datetime | date | date_literal
    value: Any
    column: int


@dataclasses.dataclass(frozen=True)
class Compare:
    path: Path
    op: str
    value: Value


@dataclasses.dataclass(frozen=True)
class Like:
    path: Path
    value: Value


@dataclasses.dataclass(frozen=True)
class In:
    path: Path
    values: tuple[Value, ...]
    negated: bool


@dataclasses.dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclasses.dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclasses.dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | Like | In | And | Or | Not


@dataclasses.dataclass(frozen=True)
class OrderItem:
    path: Path
    descending: bool
    nulls_first: bool


@dataclasses.dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[Path, ...] | None  # None: SELECT COUNT()
    sobject: str
    sobject_column: int
    where: Condition | None
    order: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


def soql_error(query: str, column: int, message: str, code: str = "MALFORMED_QUERY") -> ApiError:
    pointer = " " * max(column - 1, 0) + "^"
    return ApiError(400, code, f"\n{query}\n{pointer}\nERROR at Row:1:Column:{column}\n{message}")


_PARSER = lark.Lark(
    (pathlib.Path(__file__).with_name("soql.lark")).read_text(),
    parser="lalr",
    propagate_positions=True,
    maybe_placeholders=False,
)


class _ToAst(lark.Transformer[Any, Any]):
    def path(self, items: list[lark.Token]) -> Path:
        return Path(tuple(str(t) for t in items), items[0].column or 0)

    def string(self, items: list[lark.Token]) -> Value:
        raw = str(items[0])[1:-1]
        unescaped = raw.replace("\\'", "'").replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        return Value("string", unescaped, items[0].column or 0)

    def number(self, items: list[lark.Token]) -> Value:
        text = str(items[0])
        return Value("number", float(text) if "." in text or "e" in text.lower() else int(text), items[0].column or 0)

    @lark.v_args(meta=True)
    def true(self, meta: Any, items: list[Any]) -> Value:
        return Value("boolean", True, meta.column)

    @lark.v_args(meta=True)
    def false(self, meta: Any, items: list[Any]) -> Value:
        return Value("boolean", False, meta.column)

    @lark.v_args(meta=True)
    def null(self, meta: Any, items: list[Any]) -> Value:
        return Value("null", None, meta.column)

    def datetime(self, items: list[lark.Token]) -> Value:
        text = str(items[0]).replace("Z", "+00:00")
        if text[-5] in "+-" and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]
        return Value("datetime", dt.datetime.fromisoformat(text), items[0].column or 0)

    def date(self, items: list[lark.Token]) -> Value:
        return Value("date", dt.date.fromisoformat(str(items[0])), items[0].column or 0)

    def date_literal(self, items: list[lark.Token]) -> Value:
        return Value("date_literal", (str(items[0]).upper(), 0), items[0].column or 0)

    def date_n_literal(self, items: list[lark.Token]) -> Value:
        name, n = str(items[0]).upper().split(":")
        return Value("date_literal", (name, int(n)), items[0].column or 0)

    def compare(self, items: list[Any]) -> Compare:
        op = str(items[1])
        return Compare(items[0], "!=" if op == "<>" else op, items[2])

    def like(self, items: list[Any]) -> Like:
        return Like(items[0], items[1])

    def in_list(self, items: list[Any]) -> In:
        return In(items[0], tuple(items[1:]), False)

    def not_in_list(self, items: list[Any]) -> In:
        return In(items[0], tuple(items[1:]), True)

    def conjunction(self, items: list[Any]) -> And:
        return And(tuple(items))

    def disjunction(self, items: list[Any]) -> Or:
        return Or(tuple(items))

    def negation(self, items: list[Any]) -> Not:
        return Not(items[0])

    def where_clause(self, items: list[Any]) -> Any:
        return ("where", items[0])

    def count_all(self, items: list[Any]) -> Any:
        return ("select", None)

    def field_list(self, items: list[Path]) -> Any:
        return ("select", tuple(items))

    def asc(self, items: list[Any]) -> bool:
        return False

    def desc(self, items: list[Any]) -> bool:
        return True

    def nulls_first(self, items: list[Any]) -> Any:
        return ("nulls", True)

    def nulls_last(self, items: list[Any]) -> Any:
        return ("nulls", False)

    def order_item(self, items: list[Any]) -> OrderItem:
        descending = next((i for i in items[1:] if isinstance(i, bool)), False)
        nulls = next((i[1] for i in items[1:] if isinstance(i, tuple)), None)
        # SOQL: ascending puts nulls first by default, descending puts them last.
        return OrderItem(items[0], descending, (not descending) if nulls is None else nulls)

    def order_clause(self, items: list[OrderItem]) -> Any:
        return ("order", tuple(items))

    def limit_clause(self, items: list[lark.Token]) -> Any:
        return ("limit", int(items[0]))

    def offset_clause(self, items: list[lark.Token]) -> Any:
        return ("offset", int(items[0]))


@functools.lru_cache(maxsize=512)
def parse(text: str) -> Query:
    """Parse a SOQL query (raises ApiError MALFORMED_QUERY)."""
    try:
        tree = _PARSER.parse(text)
    except lark.UnexpectedCharacters as exc:
        raise soql_error(text, exc.column, f"unexpected token: '{text[exc.pos_in_stream or 0]}'") from None
    except lark.UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise soql_error(text, len(text) + 1, "unexpected token: <EOF>") from None
        raise soql_error(text, exc.column, f"unexpected token: '{exc.token}'") from None
    except lark.UnexpectedInput as exc:  # pragma: no cover - other lark errors
        raise soql_error(text, getattr(exc, "column", 1), "unexpected token") from None
    items = _ToAst().transform(tree).children
    sobject = items[1]
    clauses: dict[str, Any] = dict(i for i in items[2:] if isinstance(i, tuple))
    return Query(
        text=text,
        fields=items[0][1],
        sobject=str(sobject),
        sobject_column=sobject.column or 0,
        where=clauses.get("where"),
        order=clauses.get("order", ()),
        limit=clauses.get("limit"),
        offset=clauses.get("offset"),
    )
