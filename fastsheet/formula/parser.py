"""Formula columns: an exact, spreadsheet-like expression, parsed into a polars expression.

`years_experience >= 5 and contains(skills, "Python")` is read by a small recursive-descent
parser (never `eval`) into one polars expression over every row at once. Names are column
names, `{braces}` optional (needed for names with spaces). Text comparisons and `contains`
ignore case, as in a spreadsheet; `exact(a, b)` compares case and all.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from fastsheet.data.errors import RuleError
from fastsheet.formula.functions import FUNCTIONS
from fastsheet.formula.language import (
    ANY,
    BOOL,
    COMPARISONS,
    DATE,
    KEYWORDS,
    NUMBER,
    RESULT_NAME,
    TEXT,
    FormulaError,
    Token,
    Typed,
    described,
    dtype_type,
    tokenize,
)


@dataclass(frozen=True)
class Formula:
    """A parsed formula: the source text, its expression, its type and the columns it reads."""

    text: str
    expr: pl.Expr
    type: str
    references: tuple[str, ...]

    def evaluate(self, frame: pl.DataFrame) -> pl.Series:
        """The formula's value on every row of `frame`."""
        column = frame.lazy().with_columns(self.expr.alias(RESULT_NAME)).select(RESULT_NAME)
        return column.collect().to_series()

    def condition(self, frame: pl.DataFrame) -> pl.Series:
        """The formula as a row filter: true rows pass, false and empty ones do not."""
        self.require_condition()
        return self.evaluate(frame).fill_null(False).cast(pl.Boolean)

    def require_condition(self) -> Formula:
        """The formula itself, if it can be a condition (true or false); else RuleError."""
        if self.type not in (BOOL, ANY):
            raise RuleError(
                f"A condition must be true or false; {self.text!r} gives {described(self.type)}."
            )
        return self


def parse_formula(text: str, columns: Mapping[str, pl.DataType | str]) -> Formula:
    """Parse `text` against the columns it may name (name -> polars type or formula type)."""
    if not text.strip():
        raise RuleError("The formula is empty: write an expression, e.g. years_experience >= 5.")
    types = {name: t if isinstance(t, str) else dtype_type(t) for name, t in columns.items()}
    parser = _Parser(text, tokenize(text), types)
    result = parser.expression()
    if parser.peek.kind != "end":
        raise FormulaError(
            text, parser.peek.position, f"Expected an operator or the end, not {parser.peek.text!r}"
        )
    return Formula(text, result.expr, result.type, tuple(dict.fromkeys(parser.references)))


def names(text: str) -> list[str]:
    """The column names a formula mentions, in order (empty if it cannot be read):
    `{braced}` names, and bare names that are neither keywords nor function calls."""
    try:
        tokens = tokenize(text)
    except FormulaError:
        return []
    found = []
    for token, after in itertools.pairwise(tokens):
        if token.kind == "column" or (
            token.kind == "name" and token.word not in KEYWORDS and after.text != "("
        ):
            found.append(token.text)
    return list(dict.fromkeys(found))


class _Parser:
    """Precedence, lowest first: or, and, not, comparison, & (join text), + -, * / %, unary."""

    def __init__(self, text: str, tokens: list[Token], types: dict[str, str]) -> None:
        self.text = text
        self.tokens = tokens
        self.types = types
        self.at = 0
        self.references: list[str] = []

    @property
    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, token: Token, message: str) -> FormulaError:
        return FormulaError(self.text, token.position, message)

    def expect(self, text: str, what: str) -> Token:
        token = self.peek
        if token.text != text:
            found = "the end" if token.kind == "end" else repr(token.text)
            raise self.fail(token, f"Expected {text!r} {what}, found {found}")
        return self.take()

    def is_word(self, *words: str) -> bool:
        return self.peek.kind == "name" and self.peek.word in words

    # precedence levels

    def expression(self) -> Typed:
        return self.disjunction()

    def disjunction(self) -> Typed:
        left = self.conjunction()
        while self.is_word("or") or self.peek.text == "||":
            op = self.take()
            right = self.conjunction()
            left = Typed(self.logical(left, op) | self.logical(right, op), BOOL, left.position)
        return left

    def conjunction(self) -> Typed:
        left = self.negation()
        while self.is_word("and") or self.peek.text == "&&":
            op = self.take()
            right = self.negation()
            left = Typed(self.logical(left, op) & self.logical(right, op), BOOL, left.position)
        return left

    def negation(self) -> Typed:
        if self.is_word("not") or self.peek.text == "!":
            op = self.take()
            operand = self.negation()
            return Typed(~self.logical(operand, op), BOOL, op.position)
        return self.comparison()

    def comparison(self) -> Typed:
        left = self.concatenation()
        if self.is_word("in"):
            return self.membership(left)
        if self.is_word("not") and self.tokens[self.at + 1].word == "in":
            self.take()  # not
            inside = self.membership(left)
            return Typed(~inside.expr, BOOL, left.position)
        if self.peek.text not in COMPARISONS:
            return left
        op = self.take()
        right = self.concatenation()
        if self.peek.text in COMPARISONS:
            raise self.fail(self.peek, "Comparisons do not chain: write a < b and b < c")
        return Typed(self.compare(left, op, right), BOOL, left.position)

    def concatenation(self) -> Typed:
        left = self.additive()
        while self.peek.text == "&":
            self.take()
            right = self.additive()
            left = Typed(
                pl.concat_str([self.as_text(left), self.as_text(right)], ignore_nulls=False),
                TEXT,
                left.position,
            )
        return left

    def additive(self) -> Typed:
        left = self.multiplicative()
        while self.peek.text in ("+", "-"):
            op = self.take()
            right = self.multiplicative()
            self.numbers(op, left, right)
            expr = left.expr + right.expr if op.text == "+" else left.expr - right.expr
            left = Typed(expr, NUMBER, left.position)
        return left

    def multiplicative(self) -> Typed:
        left = self.unary()
        while self.peek.text in ("*", "/", "%"):
            op = self.take()
            right = self.unary()
            self.numbers(op, left, right)
            if op.text == "*":
                expr = left.expr * right.expr
            elif op.text == "/":
                expr = left.expr / right.expr
            else:
                expr = left.expr % right.expr
            left = Typed(expr, NUMBER, left.position)
        return left

    def unary(self) -> Typed:
        if self.peek.text in ("-", "+"):
            op = self.take()
            operand = self.unary()
            self.numbers(op, operand)
            return Typed(-operand.expr if op.text == "-" else operand.expr, NUMBER, op.position)
        return self.primary()

    def primary(self) -> Typed:
        token = self.take()
        if token.kind == "number":
            value = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            return Typed(pl.lit(value), NUMBER, token.position, value)
        if token.kind == "string":
            value = _unquote(token.text)
            return Typed(pl.lit(value, dtype=pl.String), TEXT, token.position, value)
        if token.kind == "column":
            return self.column(token, token.text)
        if token.text == "(":
            inner = self.expression()
            self.expect(")", "to close the bracket")
            return inner
        if token.kind == "name":
            if token.word in ("true", "false"):
                value = token.word == "true"
                return Typed(pl.lit(value), BOOL, token.position, value)
            if self.peek.text == "(":
                return self.call(token)
            if token.word in KEYWORDS:
                raise self.fail(token, f"Expected a value before {token.text!r}")
            return self.column(token, token.text)
        if token.kind == "end":
            raise self.fail(token, "Expected a value, but the formula ends here")
        raise self.fail(token, f"Expected a value, found {token.text!r}")

    # parts

    def column(self, token: Token, name: str) -> Typed:
        if name not in self.types:
            close = difflib.get_close_matches(name, list(self.types), n=1)
            hint = f"; did you mean {close[0]}?" if close else "."
            names = list(self.types)
            shown = ", ".join(names[:20]) + (
                f" and {len(names) - 20} more" if len(names) > 20 else ""
            )
            raise self.fail(token, f"Unknown column {name!r}{hint} Columns are: {shown or 'none'}")
        self.references.append(name)
        return Typed(pl.col(name), self.types[name], token.position)

    def call(self, name: Token) -> Typed:
        function = FUNCTIONS.get(name.word)
        if function is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.fail(name, f"Unknown function {name.text!r}. Functions are: {known}")
        self.expect("(", f"after {name.text}")
        args: list[Typed] = []
        if self.peek.text != ")":
            args.append(self.expression())
            while self.peek.text == ",":
                self.take()
                args.append(self.expression())
        close = self.expect(")", f"to close {name.text}(…)")
        lo, hi = function.arity
        if not lo <= len(args) <= hi:
            wanted = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(
                close, f"{name.word}() takes {wanted} argument{'s' * (hi != 1)}, not {len(args)}"
            )
        return function.build(self, name, args)

    def membership(self, left: Typed) -> Typed:
        self.take()  # in
        if self.peek.kind in ("name", "column") and self.peek.text != "(":
            return self.item_of(left, self.take())
        self.expect("(", 'after in, e.g. region in ("EU", "US") or category in usual_spending')
        items = [self.expression()]
        while self.peek.text == ",":
            self.take()
            items.append(self.expression())
        self.expect(")", "to close the list")
        tests = [self.compare(left, Token("op", "=", left.position), item) for item in items]
        expr = tests[0]
        for test in tests[1:]:
            expr = expr | test
        return Typed(expr, BOOL, left.position)

    def item_of(self, left: Typed, name: Token) -> Typed:
        """`value in list_column`: the value is one of the column's comma-separated items
        (trimmed, ignoring case), as `"sql" in skills` reads "SQL, Python"."""
        items = self.column(name, name.text)
        if items.type not in (TEXT, ANY) or left.type not in (TEXT, ANY):
            raise self.fail(name, f"'in {name.text}' needs text on both sides")
        listed = items.expr.str.to_lowercase().str.split(",")
        listed = listed.list.eval(pl.element().str.strip_chars())
        value = left.expr.str.to_lowercase().str.strip_chars()
        return Typed(listed.list.contains(value), BOOL, left.position)

    # type checks

    def logical(self, part: Typed, op: Token) -> pl.Expr:
        if part.type not in (BOOL, ANY):
            raise FormulaError(
                self.text,
                part.position,
                f"{op.text!r} needs true/false here, not {described(part.type)}",
            )
        return part.expr

    def numbers(self, op: Token, *parts: Typed) -> None:
        for part in parts:
            if part.type not in (NUMBER, ANY):
                raise FormulaError(
                    self.text,
                    part.position,
                    f"{op.text!r} needs a number here, not {described(part.type)}",
                )

    def as_text(self, part: Typed) -> pl.Expr:
        return part.expr if part.type == TEXT else part.expr.cast(pl.String)

    def compare(self, left: Typed, op: Token, right: Typed) -> pl.Expr:
        left, right = self.dates(left, right), self.dates(right, left)
        kinds = {left.type, right.type} - {ANY}
        if len(kinds) > 1:
            raise self.fail(
                op, f"Cannot compare {described(left.type)} with {described(right.type)}"
            )
        a, b = left.expr, right.expr
        if kinds == {TEXT}:
            a, b = a.str.to_lowercase(), b.str.to_lowercase()
        symbol = {"==": "=", "<>": "!="}.get(op.text, op.text)
        if symbol in ("<", "<=", ">", ">=") and kinds == {BOOL}:
            raise self.fail(op, f"{symbol!r} does not order true/false values")
        return {
            "=": a.eq,
            "!=": a.ne,
            "<": a.lt,
            "<=": a.le,
            ">": a.gt,
            ">=": a.ge,
        }[symbol](b)

    def dates(self, part: Typed, other: Typed) -> Typed:
        """A text literal compared with a date reads as a date ("2024-01-31")."""
        if other.type != DATE or part.type != TEXT or not isinstance(part.literal, str):
            return part
        return Typed(pl.lit(self.date_value(part)), DATE, part.position)

    def date_value(self, part: Typed) -> dt.date:
        try:
            return dt.date.fromisoformat(str(part.literal).strip())
        except ValueError:
            raise FormulaError(
                self.text, part.position, f"{part.literal!r} is not a date: write it as YYYY-MM-DD"
            ) from None

    def want(self, name: Token, part: Typed, *types: str) -> pl.Expr:
        if part.type not in (*types, ANY):
            raise FormulaError(
                self.text,
                part.position,
                f"{name.word}() needs {' or '.join(map(described, types))} here, "
                f"not {described(part.type)}",
            )
        return part.expr


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])
