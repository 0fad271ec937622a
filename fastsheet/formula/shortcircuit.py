"""Where a formula needs a rule column: `is_senior and led_team` needs `led_team` only
where `is_senior` is true, so the model is asked nothing on the other rows.

Only a top-level `and` short-circuits, and only over its exact parts (parts that read no
judged column, so a condition never waits on the model); anything else needs every row.
"""

from __future__ import annotations

from collections.abc import Callable

from fastsheet.formula.parser import FormulaError, Token, names, tokenize


def needed_where(formula: str, name: str, exact: Callable[[str], bool]) -> str | None:
    """The condition under which `formula` reads rule column `name`, or None for every row.

    `exact(column)` says whether a column is exact (data, or a formula over exact
    columns). `name` must be a whole part of a top-level `and`; the condition is the
    `and` of the other parts that are exact."""
    try:
        tokens = tokenize(formula)[:-1]  # without the end token
    except FormulaError:
        return None
    parts = _split(tokens, ("and", "&&"))
    if len(parts) < 2 or len(_split(tokens, ("or", "||"))) > 1:
        return None
    mine = [p for p in parts if _is_reference(p, name)]
    if len(mine) != 1 or any(name in names(_text(formula, p)) for p in parts if p is not mine[0]):
        return None
    others = [_text(formula, p) for p in parts if p is not mine[0]]
    kept = [t for t in others if all(exact(n) for n in names(t))]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else _joined(kept, "and")


def conjuncts(formula: str) -> list[str] | None:
    """The parts of a top-level `and`, as text (one part for none); None for a formula
    with a top-level `or` or one that cannot be read."""
    try:
        tokens = tokenize(formula)[:-1]
    except FormulaError:
        return None
    if not tokens or len(_split(tokens, ("or", "||"))) > 1:
        return None
    return [_text(formula, part) for part in _split(tokens, ("and", "&&"))]


def all_of(conditions: list[str]) -> str:
    """Rows every one of `conditions` keeps."""
    unique = list(dict.fromkeys(conditions))
    return unique[0] if len(unique) == 1 else _joined(unique, "and")


def any_of(conditions: list[str]) -> str:
    """Rows any of `conditions` keeps (a column several formulas read)."""
    unique = list(dict.fromkeys(conditions))
    return unique[0] if len(unique) == 1 else _joined(unique, "or")


def both(first: str, second: str) -> str:
    """Rows both conditions keep ("" keeps every row)."""
    if not first or not second or first == second:
        return first or second
    return _joined([first, second], "and")


def _joined(conditions: list[str], word: str) -> str:
    """`conditions` joined by `word`, each in parentheses unless it needs none."""
    return f" {word} ".join(t if _is_simple(t) else f"({t})" for t in conditions)


def _split(tokens: list[Token], words: tuple[str, ...]) -> list[list[Token]]:
    """`tokens` cut at `words` outside parentheses."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if depth == 0 and (token.word if token.kind == "name" else token.text) in words:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _is_reference(part: list[Token], name: str) -> bool:
    return len(part) == 1 and part[0].kind in ("name", "column") and part[0].text == name


def _text(formula: str, part: list[Token]) -> str:
    if not part:
        return ""
    last = part[-1]
    end = last.position + len(last.text)
    if last.kind == "column":  # `{ name }`: up to its closing brace
        end = formula.index("}", last.position) + 1
    return formula[part[0].position : end].strip()


def _is_simple(text: str) -> bool:
    """A condition that needs no parentheses inside `and`/`or`."""
    try:
        tokens = tokenize(text)[:-1]
    except FormulaError:
        return False
    return len(_split(tokens, ("and", "&&"))) == 1 and len(_split(tokens, ("or", "||"))) == 1
