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
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from fastsheet.data.errors import RuleError

NUMBER, TEXT, BOOL, DATE, ANY = "number", "text", "true/false", "date", "any"

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      |(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
      |(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      |(?P<braced>\{[^{}]*\})
      |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<op><=|>=|<>|!=|==|&&|\|\||[-+*/%<>=(),&!])""",
    re.VERBOSE,
)
_RESULT = "\u2063formula\u2063"  # a name no data column has (with_columns broadcasts literals)
_KEYWORDS = {"and", "or", "not", "true", "false", "in"}
_COMPARISONS = {"=", "==", "!=", "<>", "<", "<=", ">", ">="}


def described(value_type: str) -> str:
    """A type in a sentence: "a number", "text", "true/false", "a date"."""
    return {NUMBER: "a number", DATE: "a date", ANY: "a value"}.get(value_type, value_type)


class FormulaError(RuleError):
    """A formula that cannot be read: the message names the position and what was expected."""

    def __init__(self, text: str, position: int, message: str) -> None:
        self.position = position
        pointer = " " * position + "^"
        super().__init__(f"{message} (at character {position + 1}).\n  {text}\n  {pointer}")


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, op, end
    text: str
    position: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "name" else self.text


@dataclass(frozen=True)
class Typed:
    """A parsed part: its polars expression and its type (NUMBER, TEXT, BOOL, DATE, ANY)."""

    expr: pl.Expr
    type: str
    position: int
    literal: object = None  # the value of a literal, for dates written as text


@dataclass(frozen=True)
class Formula:
    """A parsed formula: the source text, its expression, its type and the columns it reads."""

    text: str
    expr: pl.Expr
    type: str
    references: tuple[str, ...]

    def evaluate(self, frame: pl.DataFrame) -> pl.Series:
        """The formula's value on every row of `frame`."""
        column = frame.lazy().with_columns(self.expr.alias(_RESULT)).select(_RESULT)
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


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            char = text[at]
            hint = " (names are letters, digits and _; use {braces} for others)"
            if char in "\"'":
                raise FormulaError(text, at, "This text has no closing quote")
            if char == "{":
                raise FormulaError(text, at, "This {name} has no closing brace")
            raise FormulaError(text, at, f"Unexpected character {char!r}" + hint)
        kind, value = match.lastgroup or "", match.group()
        if kind == "braced":
            tokens.append(Token("column", value[1:-1].strip(), at))
        elif kind != "space":
            tokens.append(Token(kind, value, at))
        at = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def dtype_type(dtype: pl.DataType) -> str:
    """The formula type of a polars column type."""
    if dtype == pl.Boolean:
        return BOOL
    if dtype.is_numeric():
        return NUMBER
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return TEXT
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return DATE
    return ANY


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
            token.kind == "name" and token.word not in _KEYWORDS and after.text != "("
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
        if self.peek.text not in _COMPARISONS:
            return left
        op = self.take()
        right = self.concatenation()
        if self.peek.text in _COMPARISONS:
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
            if token.word in _KEYWORDS:
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
        function = _FUNCTIONS.get(name.word)
        if function is None:
            known = ", ".join(sorted(_FUNCTIONS))
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
        self.expect("(", 'after in, e.g. region in ("EU", "US")')
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


@dataclass(frozen=True)
class _Function:
    arity: tuple[int, int]
    build: Callable[[_Parser, Token, list[Typed]], Typed]


def _text_test(method: str) -> _Function:
    def build(p: _Parser, name: Token, args: list[Typed]) -> Typed:
        text = p.want(name, args[0], TEXT).str.to_lowercase()
        part = p.want(name, args[1], TEXT).str.to_lowercase()
        if method == "contains":
            expr = text.str.contains(part, literal=True)
        else:
            expr = getattr(text.str, method)(part)
        return Typed(expr, BOOL, args[0].position)

    return _Function((2, 2), build)


def _text_map(method: Callable[[pl.Expr], pl.Expr], result: str = TEXT) -> _Function:
    def build(p: _Parser, name: Token, args: list[Typed]) -> Typed:
        return Typed(method(p.want(name, args[0], TEXT)), result, args[0].position)

    return _Function((1, 1), build)


def _if(p: _Parser, name: Token, args: list[Typed]) -> Typed:
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


def _is_empty(p: _Parser, name: Token, args: list[Typed]) -> Typed:
    part = args[0]
    expr = part.expr.is_null()
    if part.type == TEXT:
        expr = expr | (part.expr.str.strip_chars() == "")
    return Typed(expr, BOOL, part.position)


def _date(p: _Parser, name: Token, args: list[Typed]) -> Typed:
    part = args[0]
    if part.type == DATE:
        return part
    if part.type == TEXT and isinstance(part.literal, str):
        return Typed(pl.lit(p.date_value(part)), DATE, part.position)
    text = p.want(name, part, TEXT)
    return Typed(text.str.to_date(strict=False), DATE, part.position)


def _date_part(method: str) -> _Function:
    def build(p: _Parser, name: Token, args: list[Typed]) -> Typed:
        expr = p.want(name, args[0], DATE)
        return Typed(getattr(expr.dt, method)().cast(pl.Int64), NUMBER, args[0].position)

    return _Function((1, 1), build)


def _number_map(method: Callable[[pl.Expr, list[Typed]], pl.Expr], arity=(1, 1)) -> _Function:
    def build(p: _Parser, name: Token, args: list[Typed]) -> Typed:
        for arg in args:
            p.want(name, arg, NUMBER)
        return Typed(method(args[0].expr, args), NUMBER, args[0].position)

    return _Function(arity, build)


def _round(p: _Parser, name: Token, args: list[Typed]) -> Typed:
    value = p.want(name, args[0], NUMBER)
    digits = 0
    if len(args) > 1:
        if not isinstance(args[1].literal, int) or isinstance(args[1].literal, bool):
            raise FormulaError(p.text, args[1].position, "round()'s digits must be a whole number")
        digits = args[1].literal
    return Typed(value.round(digits), NUMBER, args[0].position)


def _exact(p: _Parser, name: Token, args: list[Typed]) -> Typed:
    a, b = (p.want(name, arg, TEXT) for arg in args)
    return Typed(a == b, BOOL, args[0].position)


def _pair(kind: str) -> _Function:
    def build(p: _Parser, name: Token, args: list[Typed]) -> Typed:
        for arg in args:
            p.want(name, arg, NUMBER)
        exprs = [arg.expr for arg in args]
        expr = pl.min_horizontal(exprs) if kind == "min" else pl.max_horizontal(exprs)
        return Typed(expr, NUMBER, args[0].position)

    return _Function((2, 8), build)


_FUNCTIONS: dict[str, _Function] = {
    "contains": _text_test("contains"),
    "starts_with": _text_test("starts_with"),
    "ends_with": _text_test("ends_with"),
    "exact": _Function((2, 2), _exact),
    "len": _text_map(lambda e: e.str.len_chars().cast(pl.Int64), NUMBER),
    "lower": _text_map(lambda e: e.str.to_lowercase()),
    "upper": _text_map(lambda e: e.str.to_uppercase()),
    "trim": _text_map(lambda e: e.str.strip_chars()),
    "if": _Function((3, 3), _if),
    "is_empty": _Function((1, 1), _is_empty),
    "date": _Function((1, 1), _date),
    "year": _date_part("year"),
    "month": _date_part("month"),
    "day": _date_part("day"),
    "abs": _number_map(lambda e, _: e.abs()),
    "round": _Function((1, 2), lambda p, name, args: _round(p, name, args)),
    "min": _pair("min"),
    "max": _pair("max"),
}
