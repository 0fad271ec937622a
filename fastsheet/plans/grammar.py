"""The grammar a plan is written under (llama.cpp's GBNF), built from the formula language
and one sheet's column names: whatever the model writes parses as a plan, and its formula
names only columns the sheet has. What the formula means (a value the column does not
hold, free text matched as if exact) is the guard's to check (guard.py): a grammar that
forbids what the model means to write derails it into what it does not mean.

A plan is two lines:

    exact: <a formula, or none>
    rest: <a short rule asked row by row where the formula holds, or none>
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from fastsheet.plans.columns import ColumnFacts

FUNCTIONS = (
    "contains", "starts_with", "ends_with", "len", "lower", "year", "month", "day", "abs",
    "round", "min", "max", "is_empty",
)  # fmt: skip

_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = {"and", "or", "not", "true", "false", "in", "none"}
MAX_REST_CHARS = 160


def column_token(name: str) -> str:
    """How a formula names a column: bare where it can be, else in braces."""
    if _BARE.fullmatch(name) and name.lower() not in _RESERVED:
        return name
    return "{" + name + "}"


def _lit(text: str) -> str:
    return json.dumps(text)


def _alt(options: Sequence[str]) -> str:
    return " | ".join(options) if options else '"\\u0000"'  # an alternative nothing matches


def plan_grammar(facts: Sequence[ColumnFacts]) -> str:
    """The GBNF of a plan over these columns: any formula of the language over them (the
    guard checks what it means, guard.py)."""
    names = _alt([_lit(column_token(f.name)) for f in facts])
    return f"""root ::= "exact: " exact "\\nrest: " rest "\\n"
exact ::= "none" | expr
rest ::= "none" | sentence
sentence ::= [A-Za-z{{] [^\\n]{{0,{MAX_REST_CHARS}}}
expr ::= conj (" or " conj){{0,5}}
conj ::= neg (" and " neg){{0,5}}
neg ::= "not " neg | cmp
cmp ::= sum ((" " cmpop " " sum) | ((" in " | " not in ") (list | column)))?
cmpop ::= "=" | "!=" | "<" | "<=" | ">" | ">="
list ::= "(" value (", " value){{0,30}} ")"
value ::= string | number
sum ::= term ((" + " | " - " | " & ") term){{0,3}}
term ::= atom ((" * " | " / ") atom){{0,3}}
atom ::= column | number | string | "true" | "false" | call | "(" expr ")"
call ::= function "(" expr (", " expr){{0,2}} ")"
function ::= {_alt([_lit(f) for f in FUNCTIONS])}
column ::= {names}
number ::= "-"? [0-9]{{1,12}} ("." [0-9]{{1,6}})?
string ::= "\\"" [^"\\\\\\n]{{1,80}} "\\""
"""
