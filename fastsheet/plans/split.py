"""Split a compound flag rule into steps: exact parts as formulas, fuzzy parts as short
rules judged only where the exact parts hold, and the original column as their `and`.

A rule-based proposer for common shapes ("at least 5 years of experience with Python,
and has led a team"; "the review is from yelp and is positive"; "… shorter than 60
characters"). It reads the sheet's column names, types and values; every formula it
proposes is parsed against the sheet before it is offered. When it cannot split, it
says why (`Split.reason`) and proposes nothing: nothing changes silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import parse_formula
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Kind, Rule

_CLAUSES = re.compile(r"\s*(?:,\s*and\s+|\band\s+|;\s*)", re.IGNORECASE)
_NUMBER = r"(\d+(?:\.\d+)?)"
_COMPARE = (
    (re.compile(rf"\bat least {_NUMBER}\b", re.I), ">="),
    (re.compile(rf"\b(?:at most|no more than) {_NUMBER}\b", re.I), "<="),
    (re.compile(rf"\b(?:more|over|above|greater|longer|higher) than {_NUMBER}\b", re.I), ">"),
    (re.compile(rf"\b(?:over|above) {_NUMBER}\b", re.I), ">"),
    (re.compile(rf"\b(?:less|fewer|under|below|shorter|lower) than {_NUMBER}\b", re.I), "<"),
    (re.compile(rf"\b(?:under|below) {_NUMBER}\b", re.I), "<"),
)
_NOT_AMONG = re.compile(
    r"^(?P<item>.+?)\s+(?:doesn'?t|does not|do not|don'?t)\s+match(?:es)?\s+(?P<list>.+)$"
    r"|^(?P<item2>.+?)\s+is\s+not\s+(?:one of|among|in)\s+(?P<list2>.+)$",
    re.IGNORECASE,
)
_LENGTH = re.compile(r"\b(?:characters?|chars?|letters?|long|short)\b", re.I)
_WITH_ITEM = re.compile(r"\b(?:with|in|knows?|uses?|using|lists?|has|having)\s+([A-Z][\w+#.]*)")
_STOP = {
    "the", "a", "an", "is", "are", "was", "has", "have", "had", "of", "to", "in", "on",
    "it", "its", "this", "that", "flag", "if", "person", "row", "be", "been", "and",
    "with", "for", "from", "by", "their", "they", "he", "she", "who", "which", "or",
}  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One proposed column: a formula, or a rule judged only `where` the formula holds."""

    name: str
    kind: Kind
    text: str
    where: str = ""

    def rule(self) -> Rule:
        return Rule(self.text, name=self.name, kind=self.kind, where=self.where)


@dataclass
class Split:
    """The proposal: new columns first, then the original column as their combination.
    Empty `steps` with a `reason`: it could not be split."""

    steps: list[Step] = field(default_factory=list)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.steps)


def propose_split(rule: Rule, frame: pl.DataFrame, taken: set[str] | None = None) -> Split:
    """Propose steps for `rule` over `frame` (column names, types and values)."""
    if not kind_of(rule).splittable:
        return Split(reason="Only a flag rule (yes or no) can be split into steps.")
    if re.search(r"\bor\b", rule.text, re.I):
        return Split(reason="A rule with “or” is not split yet: write its parts as columns.")
    text = re.sub(r"^\s*(?:flag|mark|find)\s+(?:the\s+\w+\s+)?(?:if|when|where)\s+", "",
                  rule.text.strip().rstrip("."), flags=re.I)  # fmt: skip
    clauses = [c.strip(" ,") for c in _CLAUSES.split(text) if c.strip(" ,")]
    taken = set(taken or ()) | set(frame.columns) | {rule.name}
    exact: list[Step] = []
    fuzzy: list[str] = []
    subject = _subject(clauses[0]) if clauses else ""
    for clause in clauses:
        found = _exact(clause, frame)
        if found:
            for name, formula in found:
                exact.append(Step(_unique(name, taken), Kind.FORMULA, formula))
        else:
            fuzzy.append(clause)
    if not exact:
        return Split(reason="No part of this rule is exact (a number, a length, a value of a "
                     "column): it is one question for the model.")  # fmt: skip
    condition = " and ".join(s.name for s in exact)
    rules: list[Step] = []
    used = {c for s in exact for c in _columns_in(s.text, frame)}
    for clause in fuzzy:
        wording = _fuzzy_rule(clause, subject, frame, used)
        rules.append(Step(_unique(_slug(clause), taken), Kind.FLAG, wording, where=condition))
    combination = " and ".join([s.name for s in exact] + [s.name for s in rules])
    steps = [*exact, *rules, Step(rule.name, Kind.FORMULA, combination)]
    try:
        check_steps(steps, dict(frame.schema))
    except RuleError as exc:
        return Split(reason=f"The proposal did not check out ({exc}); it was not offered.")
    return Split(steps)


def check_steps(steps: list[Step], schema: dict[str, pl.DataType]) -> None:
    """RuleError unless every step makes a valid column over the sheet and the steps
    before it (formulas parse, rules name known columns, conditions are true/false)."""
    known = dict(schema)
    for step in steps:
        rule = step.rule()
        if kind_of(rule).judged:
            rule.check_columns(list(known))
            if rule.where:
                parse_formula(rule.where, known).require_condition()
        else:
            parse_formula(rule.text, known)
        known[step.name] = pl.Boolean


# ----- exact parts ------------------------------------------------------------------------


def _exact(clause: str, frame: pl.DataFrame) -> list[tuple[str, str]]:
    """Formulas (name, text) that say exactly what `clause` says, or [] if none does."""
    out: list[tuple[str, str]] = []
    for pattern, op in _COMPARE:
        match = pattern.search(clause)
        if not match:
            continue
        number = match.group(1)
        rest = clause[match.end() :]
        if _LENGTH.search(rest[:20]):
            column = _text_column(frame, clause)
            if column:
                out.append((f"{column}_length", f"len({column}) {op} {number}"))
        else:
            column = _numeric_column(frame, clause)
            if column:
                out.append((f"{column}_{_word(op)}_{number}", f"{column} {op} {number}"))
        if out:
            item = _list_item(rest, frame)
            if item:
                out.append(item)
        return out
    among = _not_among(clause, frame)
    if among:
        return [among]
    value = _category_value(clause, frame)
    if value:
        column, found = value
        return [(f"{column}_{_slug(found)}", f'{column} = "{found}"')]
    item = _list_item(clause, frame)
    if item and len(_content_words(clause)) <= 2:
        return [item]
    return []


def _word(op: str) -> str:
    return {">=": "at_least", "<=": "at_most", ">": "over", "<": "under"}[op]


def _numeric_column(frame: pl.DataFrame, clause: str) -> str | None:
    numeric = [c for c, t in frame.schema.items() if t.is_numeric()]
    words = set(_content_words(clause)) | {w.rstrip("s") for w in _content_words(clause)}
    scored = [(sum(p in words or p.rstrip("s") in words for p in c.lower().split("_")), c)
              for c in numeric]  # fmt: skip
    scored = [s for s in scored if s[0] > 0]
    return max(scored)[1] if scored else None


def _text_column(frame: pl.DataFrame, clause: str) -> str | None:
    """The text column a length clause is about: named in it, else the longest text."""
    texts = [c for c, t in frame.schema.items() if t == pl.String]
    for c in texts:
        if _mention(c).search(clause):
            return c
    return _longest_text(frame, texts)


def _longest_text(frame: pl.DataFrame, columns: list[str]) -> str | None:
    if not columns:
        return None
    sample = frame.head(200)
    return max(columns, key=lambda c: sample[c].str.len_chars().mean() or 0)


def _category_value(clause: str, frame: pl.DataFrame) -> tuple[str, str] | None:
    """A value of a low-cardinality text column named in the clause ("from yelp")."""
    words = {w.lower() for w in re.findall(r"[\w+#.-]+", clause)}
    for column, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        values = frame[column].drop_nulls().unique()
        if len(values) > 50 or len(values) >= max(2, frame.height // 2):
            continue
        for value in values.to_list():
            if value.lower() in words and len(_content_words(clause)) <= 2:
                return column, value
    return None


def _not_among(clause: str, frame: pl.DataFrame) -> tuple[str, str] | None:
    """`not contains(usual, category)` for "the category doesn't match the customer's
    usual spending": a column's value not among the items another column lists."""
    match = _NOT_AMONG.match(clause.strip())
    if not match:
        return None
    item_words = match.group("item") or match.group("item2")
    list_words = match.group("list") or match.group("list2")
    texts = [c for c, t in frame.schema.items() if t == pl.String]
    lists = [c for c in texts if _is_list(frame[c])]
    item = _best_named(item_words, [c for c in texts if c not in lists])
    items = _best_named(list_words, lists)
    if item is None or items is None:
        return None
    return f"{item}_not_in_{items}", f"not contains({items}, {item})"


def _is_list(column: pl.Series) -> bool:
    """Comma-separated items in most rows."""
    sample = column.drop_nulls().head(500)
    return bool(len(sample)) and sample.str.contains(", ", literal=True).mean() >= 0.5


def _best_named(words: str, columns: list[str]) -> str | None:
    """The column whose name's parts the words say most of, the head noun (the last
    word: "merchant category" is a category) counting half more; ties: none."""
    content = _content_words(words)
    said = set(content) | {w.rstrip("s") for w in content}
    head = content[-1].rstrip("s") if content else ""

    def score(column: str) -> float:
        parts = [p.rstrip("s") for p in column.lower().split("_")]
        return sum(p in said for p in parts) + 0.5 * (head in parts)

    scored = sorted(((score(c), c) for c in columns), reverse=True)
    if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]


def _list_item(clause: str, frame: pl.DataFrame) -> tuple[str, str] | None:
    """`contains(column, "Item")` for an item ("with Python") listed in a column of
    comma-separated items."""
    for match in _WITH_ITEM.finditer(clause):
        item = match.group(1)
        for column, dtype in frame.schema.items():
            if dtype != pl.String:
                continue
            sample = frame[column].drop_nulls().head(500)
            if not len(sample) or sample.str.contains(",", literal=True).mean() < 0.3:
                continue
            pattern = rf"(?:^|,\s*){re.escape(item)}(?:\s*,|$)"
            if sample.str.contains(pattern).any():
                return f"has_{_slug(item)}", f'contains({column}, "{item}")'
    return None


def _columns_in(formula: str, frame: pl.DataFrame) -> set[str]:
    return {c for c in frame.columns if re.search(rf"\b{re.escape(c)}\b", formula)}


# ----- fuzzy parts ------------------------------------------------------------------------


def _subject(clause: str) -> str:
    """The first clause's subject ("the review" in "the review is from yelp")."""
    match = re.match(r"\s*((?:the|a|an)\s+\w+)\s+(?:is|was|has|does|contains|mentions)\b",
                     clause, re.I)  # fmt: skip
    return match.group(1) if match else ""


def _fuzzy_rule(clause: str, subject: str, frame: pl.DataFrame, used: set[str]) -> str:
    """A short rule over only the columns it needs: the ones it names; about the whole
    row when it has a subject that is no column ("the email is spam"); else about the
    longest text column the exact parts did not use ("has led a team": the summary)."""
    if re.search(r"\{[^{}]+\}", clause):
        return f"Flag if {clause}."
    lead = clause[:1].lower() + clause[1:]
    if subject and re.match(r"(?:is|was|has|does|contains|mentions|says)\b", lead, re.I):
        lead = f"{subject.lower()} {lead}"  # "is positive" -> "the review is positive"
    named = [c for c in frame.columns if _mention(c).search(lead)]
    for c in named:
        lead = _mention(c).sub("{" + c + "}", lead, count=1)
    if named or subject:
        return f"Flag if {lead}."
    texts = [c for c, t in frame.schema.items() if t == pl.String and c not in used]
    column = _longest_text(frame, texts)
    return f"Flag if the {{{column}}} says: {lead}." if column else f"Flag if {lead}."


def _mention(column: str) -> re.Pattern[str]:
    """The column named in words: `years_experience` as "years experience"."""
    return re.compile(rf"\b{re.escape(column.replace('_', ' '))}\b", re.IGNORECASE)


def _content_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9+#]+", text.lower()) if w not in _STOP]


def _slug(text: str) -> str:
    words = [w for w in _content_words(text) if not w.isdigit()][:3]
    return "_".join(words) or "step"


def _unique(base: str, taken: set[str]) -> str:
    name, i = base, 2
    while name in taken:
        name = f"{base}_{i}"
        i += 1
    taken.add(name)
    return name
