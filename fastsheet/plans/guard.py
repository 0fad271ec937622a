"""The guard against a wrong plan: a wrong formula is confidently wrong on every row.

What it checks, before the plan decides any row:
- the formula parses against the sheet's columns and is a condition;
- every text value it compares a column with is one of that column's values (or items,
  for a list column) where the column lists them: a value the data does not hold is the
  model's guess at what the rule means, not an exact part of it;
- it reads no free text (what a rule asks of free text needs judgment: the rest);
- its rest names only columns the sheet has;
- on the sheet, it holds on some rows and not on every one (a degenerate plan).
Agreement with the model's own per-row answers is not checked: it does not tell right
plans from wrong ones (the per-row judge is the weaker party).
"""

from __future__ import annotations

import polars as pl

from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import Token, tokenize
from fastsheet.plans.columns import ColumnFacts

_EQUAL = {"=", "==", "!=", "<>"}
_WORDS = {"and", "or", "not", "in", "true", "false"}


def value_problems(exact: str, facts: list[ColumnFacts]) -> list[str]:
    """What the formula says that the data does not hold: values a column never takes,
    free text read as if exact."""
    by_name = {f.name: f for f in facts}
    try:
        tokens = tokenize(exact)
    except RuleError as exc:
        return [str(exc).splitlines()[0]]
    problems: list[str] = []
    for token in tokens:
        fact = by_name.get(token.text) if token.kind in ("name", "column") else None
        if fact is not None and fact.free_text:
            problems.append(
                f"{fact.name} is free text, which a formula cannot read exactly: "
                f"ask what the rule says of it in rest"
            )
    for column, value in _compared(tokens):
        fact = by_name.get(column)
        known = (fact.items if fact.is_list else fact.values) if fact else ()
        if known and value.lower() not in {k.lower() for k in known}:
            what = "an item of" if fact and fact.is_list else "a value of"
            shown = ", ".join(f'"{k}"' for k in known[:30])
            problems.append(
                f'"{value}" is not {what} {column} (it holds: {shown}): '
                f"leave that part to rest, or use the values it holds"
            )
    return list(dict.fromkeys(problems))


def _compared(tokens: list[Token]) -> list[tuple[str, str]]:
    """(column, text value) pairs the formula compares: `col = "x"`, `"x" = col`,
    `col in ("x", "y")`, `"x" in list_col` (with or without not)."""
    pairs: list[tuple[str, str]] = []
    for left, op, right in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if op.text not in _EQUAL:
            continue
        if _is_column(left) and right.kind == "string":
            pairs.append((left.text, _unquote(right.text)))
        elif left.kind == "string" and _is_column(right):
            pairs.append((right.text, _unquote(left.text)))
    for i, token in enumerate(tokens):
        if token.word != "in" or i == 0:
            continue
        before = tokens[i - 2] if tokens[i - 1].word == "not" and i >= 2 else tokens[i - 1]
        after = tokens[i + 1]
        if before.kind == "string" and _is_column(after):
            pairs.append((after.text, _unquote(before.text)))
        elif _is_column(before) and after.text == "(":
            j = i + 2
            while j < len(tokens) and tokens[j].text != ")":
                if tokens[j].kind == "string":
                    pairs.append((before.text, _unquote(tokens[j].text)))
                j += 1
    return pairs


def _is_column(token: Token) -> bool:
    return token.kind == "column" or (token.kind == "name" and token.word not in _WORDS)


def _unquote(text: str) -> str:
    return text[1:-1]


def degenerate(holds: pl.Series) -> str | None:
    """Why a formula's truth over the sheet cannot be the rule's (None if it can)."""
    n = len(holds)
    true = int(holds.fill_null(False).sum())
    if n >= 20 and true == 0:
        return f"The formula holds on none of the {n:,} rows."
    if n >= 20 and true == n:
        return f"The formula holds on every one of the {n:,} rows."
    return None
