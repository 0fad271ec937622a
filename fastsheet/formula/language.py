"""The formula language's words: its types, its tokens and how they are read, the parsed
parts' shape, and the error that points at the spot."""

from __future__ import annotations

import re
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
RESULT_NAME = "\u2063formula\u2063"  # a name no data column has (with_columns broadcasts literals)
KEYWORDS = {"and", "or", "not", "true", "false", "in"}
COMPARISONS = {"=", "==", "!=", "<>", "<", "<=", ">", ">="}


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
