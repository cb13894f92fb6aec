"""LeanExecutor (schema/execution.py) answers exactly as graphql-core's executor does:
values, nulls, errors and their paths, on a small schema built to hit every case, and
it takes its short way on the real schema's plain fields."""
from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from enum import Enum

import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.build import build_schema
from schema.execution import LeanExecutor, plain_field


@strawberry.enum
class Colour(Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Inner:
    value: int
    broken: int  # no Int for one row

    @strawberry.field
    async def later(self) -> int:
        await asyncio.sleep(0)
        if self.value == 3:
            raise ValueError("not now")
        return self.value


@strawberry.type
class Row:
    number: int
    inner: Inner
    inner_maybe: Inner | None
    maybe: int | None
    colour: Colour
    amount: Decimal
    day: date
    broken: int  # holds a value that is no Int
    missing: int  # holds None although non-null

    @strawberry.field
    def doubled(self) -> int:
        return self.number * 2

    @strawberry.field
    def fails(self) -> int | None:
        raise ValueError("no")


def _rows() -> list[Row]:
    return [
        Row(number=n, inner=Inner(value=n, broken=n if n != 1 else "x"),  # type: ignore[arg-type]
            inner_maybe=Inner(value=n, broken=n) if n % 2 else None, maybe=None if n % 2 else n, colour=Colour.GREEN if n % 2 else Colour.RED,
            amount=Decimal("400.00") + n, day=date(2026, 12, 1 + n), broken=n if n != 2 else "x",  # type: ignore[arg-type]
            missing=n if n != 3 else None)  # type: ignore[arg-type]
        for n in range(5)
    ]


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return _rows()

    @strawberry.field
    async def later(self) -> list[Row | None]:
        return [*_rows(), None]


FIELDS = "number maybe colour amount day doubled fails"
DOCUMENTS = [
    f"{{ rows {{ {FIELDS} }} }}",
    f"{{ later {{ {FIELDS} }} }}",
    "{ rows { number broken } }",
    "{ later { number missing } }",
    "{ rows { ... on Row { n: number, c: colour } number } }",
    "{ rows { inner { value later } innerMaybe { value } } }",
    "{ later { inner { value broken } } }",
    "{ later { innerMaybe { value later } } }",
    "{ rows { innerMaybe { broken } inner { value } } }",
]


def _answer(executor: type, document: str) -> tuple[object, list[tuple[str, list]]]:
    schema = strawberry.Schema(query=Query, execution_context_class=executor)
    result = asyncio.run(schema.execute(document))
    return result.data, [(e.message, e.path) for e in result.errors or []]


def test_lean_executor_answers_as_graphql_core_does() -> None:
    for document in DOCUMENTS:
        assert _answer(LeanExecutor, document) == _answer(StrawberryGraphQLCoreExecutionContext, document), document


def test_errors_keep_their_message_and_path() -> None:
    data, errors = _answer(LeanExecutor, "{ rows { number broken } }")
    assert data is None
    assert [path for _, path in errors] == [["rows", 2, "broken"]]
    data, errors = _answer(LeanExecutor, "{ later { number missing } }")
    assert data == {"later": [{"number": 0, "missing": 0}, {"number": 1, "missing": 1}, {"number": 2, "missing": 2},
                              None, {"number": 4, "missing": 4}, None]}
    assert [path for _, path in errors] == [["later", 3, "missing"]]


def test_plain_fields_of_the_real_schema_take_the_short_way() -> None:
    built = build_schema()
    assert built.execution_context_class is LeanExecutor
    schema = built._schema
    progress = schema.get_type("QuotaProgress")
    assert all(plain_field(schema, progress, name) for name in ("target", "enrolled", "rate", "percent", "measuredOn"))
    # a resolver: the full way
    assert plain_field(schema, progress, "lapsed") is None
    assert plain_field(schema, progress, "unit") is not None
