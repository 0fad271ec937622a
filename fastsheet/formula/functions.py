"""The formula language's functions: contains, starts_with, len, if, date, round, min, …

Each checks its arguments' types through the parser that reads it (`Checks`) and builds
one polars expression.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from fastsheet.formula.language import (
    ANY,
    BOOL,
    DATE,
    NUMBER,
    TEXT,
    FormulaError,
    Token,
    Typed,
    described,
)


class Checks(Protocol):
    """What a function asks of the parser reading it."""

    text: str

    def want(self, name: Token, part: Typed, *types: str) -> pl.Expr: ...

    def dates(self, part: Typed, other: Typed) -> Typed: ...

    def logical(self, part: Typed, op: Token) -> pl.Expr: ...

    def date_value(self, part: Typed) -> object: ...


@dataclass(frozen=True)
class Function:
    arity: tuple[int, int]
    build: Callable[[Checks, Token, list[Typed]], Typed]


def _text_test(method: str) -> Function:
    def build(p: Checks, name: Token, args: list[Typed]) -> Typed:
        text = p.want(name, args[0], TEXT).str.to_lowercase()
        part = p.want(name, args[1], TEXT).str.to_lowercase()
        if method == "contains":
            expr = text.str.contains(part, literal=True)
        else:
            expr = getattr(text.str, method)(part)
        return Typed(expr, BOOL, args[0].position)

    return Function((2, 2), build)


def _text_map(method: Callable[[pl.Expr], pl.Expr], result: str = TEXT) -> Function:
    def build(p: Checks, name: Token, args: list[Typed]) -> Typed:
        return Typed(method(p.want(name, args[0], TEXT)), result, args[0].position)

    return Function((1, 1), build)


def _if(p: Checks, name: Token, args: list[Typed]) -> Typed:
    cond, yes, no = args
    yes, no = p.dates(yes, no), p.dates(no, yes)
    kinds = {yes.type, no.type} - {ANY}
    if len(kinds) > 1:
        raise FormulaError(
            p.text,
            no.position,
            f"if() gives {described(yes.type)} or {described(no.type)}: both must be one type",
        )
    expr = pl.when(p.logical(cond, name)).then(yes.expr).otherwise(no.expr)
    return Typed(expr, kinds.pop() if kinds else ANY, name.position)


def _is_empty(p: Checks, name: Token, args: list[Typed]) -> Typed:
    part = args[0]
    expr = part.expr.is_null()
    if part.type == TEXT:
        expr = expr | (part.expr.str.strip_chars() == "")
    return Typed(expr, BOOL, part.position)


def _date(p: Checks, name: Token, args: list[Typed]) -> Typed:
    part = args[0]
    if part.type == DATE:
        return part
    if part.type == TEXT and isinstance(part.literal, str):
        return Typed(pl.lit(p.date_value(part)), DATE, part.position)
    text = p.want(name, part, TEXT)
    return Typed(text.str.to_date(strict=False), DATE, part.position)


def _date_part(method: str) -> Function:
    def build(p: Checks, name: Token, args: list[Typed]) -> Typed:
        expr = p.want(name, args[0], DATE)
        return Typed(getattr(expr.dt, method)().cast(pl.Int64), NUMBER, args[0].position)

    return Function((1, 1), build)


def _number_map(method: Callable[[pl.Expr, list[Typed]], pl.Expr], arity=(1, 1)) -> Function:
    def build(p: Checks, name: Token, args: list[Typed]) -> Typed:
        for arg in args:
            p.want(name, arg, NUMBER)
        return Typed(method(args[0].expr, args), NUMBER, args[0].position)

    return Function(arity, build)


def _round(p: Checks, name: Token, args: list[Typed]) -> Typed:
    value = p.want(name, args[0], NUMBER)
    digits = 0
    if len(args) > 1:
        if not isinstance(args[1].literal, int) or isinstance(args[1].literal, bool):
            raise FormulaError(p.text, args[1].position, "round()'s digits must be a whole number")
        digits = args[1].literal
    return Typed(value.round(digits), NUMBER, args[0].position)


def _exact(p: Checks, name: Token, args: list[Typed]) -> Typed:
    a, b = (p.want(name, arg, TEXT) for arg in args)
    return Typed(a == b, BOOL, args[0].position)


def _pair(kind: str) -> Function:
    def build(p: Checks, name: Token, args: list[Typed]) -> Typed:
        for arg in args:
            p.want(name, arg, NUMBER)
        exprs = [arg.expr for arg in args]
        expr = pl.min_horizontal(exprs) if kind == "min" else pl.max_horizontal(exprs)
        return Typed(expr, NUMBER, args[0].position)

    return Function((2, 8), build)


FUNCTIONS: dict[str, Function] = {
    "contains": _text_test("contains"),
    "starts_with": _text_test("starts_with"),
    "ends_with": _text_test("ends_with"),
    "exact": Function((2, 2), _exact),
    "len": _text_map(lambda e: e.str.len_chars().cast(pl.Int64), NUMBER),
    "lower": _text_map(lambda e: e.str.to_lowercase()),
    "upper": _text_map(lambda e: e.str.to_uppercase()),
    "trim": _text_map(lambda e: e.str.strip_chars()),
    "if": Function((3, 3), _if),
    "is_empty": Function((1, 1), _is_empty),
    "date": Function((1, 1), _date),
    "year": _date_part("year"),
    "month": _date_part("month"),
    "day": _date_part("day"),
    "abs": _number_map(lambda e, _: e.abs()),
    "round": Function((1, 2), lambda p, name, args: _round(p, name, args)),
    "min": _pair("min"),
    "max": _pair("max"),
}
