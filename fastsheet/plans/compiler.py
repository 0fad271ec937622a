"""Rules that compile: the model writes a rule's exact part once, as a formula, and only the
fuzzy rest is asked row by row.

The local model reads the rule and a description of the sheet's columns (columns.py) and
writes a plan (`exact: <formula or none>`, `rest: <short rule or none>`) under a grammar
built from the formula language and the sheet's column names (grammar.py), so it always
parses. The instructions and worked examples are one shared prefix, kept in the KV cache
across edits: an edit costs the rule's tokens and the plan's.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.backends.framing import RECORD
from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import Formula, parse_formula
from fastsheet.formula.shortcircuit import all_of, conjuncts
from fastsheet.plans.columns import ColumnFacts, describe, table_text
from fastsheet.plans.grammar import column_token, plan_grammar
from fastsheet.plans.guard import degenerate, value_problems

log = logging.getLogger(__name__)

#: bump when the prompt, its examples or the grammar change: part of a plan's cache key
PLAN_VERSION = "1"

SYSTEM = """You turn a rule about the rows of a table into a plan of two lines.
exact: the part of the rule that the table's columns decide exactly, as one formula; none if no part of the rule is exact.
rest: the part that needs judgment, as a short rule asked of each row where the formula holds; none if the formula decides the rule alone.

The formula language: columns by name; numbers; "text" in double quotes; = != < <= > >=; and, or, not; + - * /; x in ("a", "b") for one of several values; x in list_column and x not in list_column for an item of a comma-separated list column; functions contains(text, "part"), starts_with, ends_with, len, lower, year(date), month(date), day(date), abs, round, min, max, is_empty. Text comparisons ignore case. A date is written "2024-01-31".

Use only the columns listed, and where a column lists its values, only those values. When the rule names a group of values (a region, a maker's country, a season), write every listed value that belongs to it. "N+" and "at least N" are >= N. Values that share a beginning ("card (visa)", "card (amex)") are matched with starts_with. A preference ("ideally", "preferred", "nice to have", "a plus") is not a requirement: leave it out. Free text cannot be matched exactly, nor can a value a column does not list: what the rule asks of them goes into rest, naming the column in braces."""

_ORDERS = """Columns:
- order_id: text
- region: text, values: "East", "North", "South", "West"
- country: text, values: "CA", "DE", "FR", "JP", "MX", "US"
- amount_usd: number, in US dollars, from 1 to 5000
- items: a comma-separated list of text items, items: "books", "games", "music", "toys"
- category: text, values: "books", "games", "music", "toys"
- usual_categories: a comma-separated list of text items, items: "books", "games", "music", "toys"
- payment: text, values: "card (amex)", "card (visa)", "cash", "transfer"
- placed: date, from 2023-01-01 to 2024-12-31
- note: free text"""

_PEOPLE = """Columns:
- name: text
- years_sales: number, from 0 to 30
- office: text, values: "Berlin", "Chicago", "Lyon", "Osaka", "Toronto"
- bio: free text"""

EXAMPLES: tuple[tuple[str, str, str], ...] = (
    (_ORDERS, "Flag orders over $1,000 from North America.", 'amount_usd > 1000 and country in ("CA", "MX", "US")|none'),
    (_ORDERS, "Orders placed in 2024 that include games", 'year(placed) = 2024 and "games" in items|none'),
    (_ORDERS, "Orders paid by card in the West", 'starts_with(payment, "card") and region = "West"|none'),
    (_ORDERS, "Flag if the note sounds angry", "none|The {note} sounds angry."),
    (_ORDERS, "Large orders (more than 500 dollars) whose note asks for a refund", "amount_usd > 500|The {note} asks for a refund."),
    (_ORDERS, "Flag if the category is not one the customer usually buys", "category not in usual_categories|none"),
    (_PEOPLE, "5+ years in sales, based in Europe, ideally with a startup background", 'years_sales >= 5 and office in ("Berlin", "Lyon")|none'),
    (_PEOPLE, "At least 3 years in sales and the bio shows leadership", "years_sales >= 3|The {bio} shows leadership."),
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """A compiled rule: `exact` (a formula, "" for none) and `rest` (a short rule asked
    where the formula holds, "" for none)."""

    exact: str
    rest: str
    seconds: float = 0.0

    @property
    def compiled(self) -> bool:
        """True if some part of the rule is a formula."""
        return bool(self.exact)

    def text(self) -> str:
        return f"exact: {self.exact or 'none'}\nrest: {self.rest or 'none'}"


def turns(table: str) -> list[dict[str, str]]:
    """The compile's chat: instructions, worked examples, then this sheet's columns and RECORD
    where the rule goes."""
    out = [{"role": "system", "content": SYSTEM}]
    for columns, rule, plan in EXAMPLES:
        exact, rest = plan.split("|")
        out.append({"role": "user", "content": f"{columns}\nRule: {rule}"})
        out.append({"role": "assistant", "content": f"exact: {exact}\nrest: {rest}\n"})
    out.append({"role": "user", "content": f"Columns:\n{table}\nRule: {RECORD}"})
    return out


def parse_plan(text: str) -> Plan:
    """A plan from the model's two lines (RuleError if they are not one)."""
    found = re.fullmatch(r"\s*exact:\s*(.*?)\s*\n\s*rest:\s*(.*?)\s*", text, flags=re.S)
    if found is None:
        raise RuleError(f"The model's plan could not be read: {text!r}")
    exact, rest = found.group(1).strip(), found.group(2).strip()
    return Plan("" if exact.lower() == "none" else exact, "" if rest.lower() == "none" else rest)


def checked(plan: Plan, columns: Mapping[str, pl.DataType]) -> Formula | None:
    """The plan's formula, parsed against the sheet (None if it has none); RuleError if it
    does not parse as a condition or its rest names a column the sheet lacks."""
    for name in re.findall(r"\{([^{}]+)\}", plan.rest):
        if name.strip() not in columns:
            raise RuleError(f"The plan's rest names {name!r}, which the sheet does not have.")
    if not plan.exact:
        return None
    return parse_formula(plan.exact, columns).require_condition()


@dataclass(frozen=True)
class Compiled:
    """What compiling a rule gave: the plan the guard accepts (None: judge row by row), the
    plan the model wrote (a proposal where it was not accepted), and the guard's findings."""

    plan: Plan | None
    written: Plan
    problems: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.plan is not None


def compile_rule(
    backend: Backend, text: str, frame: pl.DataFrame, skip: tuple[str, ...] = ()
) -> Compiled:
    """The plan the backend's model writes for rule `text` over `frame`'s columns (not those
    in `skip`: gold and result columns), checked by the guard (guard.py). Where parts of a
    top-level `and` fail it, the others stay exact and the whole rule is asked row by row
    where they hold; a plan with nothing exact left is not used."""
    facts = describe(frame, skip)
    start = time.perf_counter()
    written = backend.write_chat(turns(table_text(facts)), _one_line(text), plan_grammar(facts))
    seconds = time.perf_counter() - start
    try:
        plan = replace(parse_plan(written), seconds=seconds)
    except RuleError as exc:
        return Compiled(None, Plan("", "", seconds), (str(exc),))
    accepted, problems = guarded(plan, text, facts, frame)
    log.info("compiled %r in %.1f s: %s -> %s %s", text, seconds, plan.text().replace("\n", " | "),
             accepted.text().replace("\n", " | ") if accepted else "row by row", problems)  # fmt: skip
    return Compiled(accepted, plan, tuple(problems))


def guarded(
    plan: Plan, text: str, facts: list[ColumnFacts], frame: pl.DataFrame
) -> tuple[Plan | None, list[str]]:
    """The plan as the guard lets it decide rows (None: not at all), and what it found."""
    if not plan.exact:
        return None, []
    columns = {f.name: frame.schema[f.name] for f in facts}
    problems = _part_problems(plan.exact, plan.rest, facts, columns)
    rest = plan.rest
    if problems:
        parts = conjuncts(plan.exact) or []
        kept = [p for p in parts if not _part_problems(p, "", facts, columns)]
        if not kept:
            return None, problems
        plan, rest = replace(plan, exact=all_of(kept)), text  # the whole rule where they hold
    formula = parse_formula(plan.exact, columns)
    why = degenerate(formula.condition(frame))
    if why:
        return None, [*problems, why]
    return replace(plan, rest=rest), problems


def _part_problems(
    exact: str, rest: str, facts: list[ColumnFacts], columns: Mapping[str, pl.DataType]
) -> list[str]:
    try:
        checked(Plan(exact, rest), columns)
    except RuleError as exc:
        return [str(exc).splitlines()[0]]
    return value_problems(exact, facts)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def facts_key(facts: list[ColumnFacts]) -> str:
    """What of the sheet a plan depends on: its columns as the prompt shows them."""
    return PLAN_VERSION + "\n" + table_text(facts)


__all__ = ["Compiled", "Plan", "checked", "column_token", "compile_rule", "parse_plan", "turns"]
