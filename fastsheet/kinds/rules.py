"""Rule columns: name, plain-English text, kind and options; `{column}` references."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from fastsheet.data.errors import RuleError
from fastsheet.data.question import Question
from fastsheet.formula.parser import names
from fastsheet.kinds.registry import find as kind_of


class Kind(enum.Enum):
    FLAG = "flag"
    LABEL = "label"
    SCORE = "score"
    TEXT = "text"
    FORMULA = "formula"


@dataclass(frozen=True)
class Rule:
    """A rule column. `labels` (and what each means, `descriptions`) is for `label`,
    `scale` for `score`, `max_tokens` for `text`.

    `examples` are filled in by the engine from the rule's labeled rows; they are part of
    the prompt's shared prefix, and of the rule's identity."""

    text: str
    name: str = "rule"
    kind: Kind = Kind.FLAG
    labels: tuple[str, ...] = ()
    #: what each label means ("" where the user said nothing), or () for none at all
    descriptions: tuple[str, ...] = ()
    scale: tuple[int, int] = (1, 5)
    max_tokens: int = 48
    extra: dict[str, str] = field(default_factory=dict)
    #: labeled rows shown to the model before each row: (record text, answer) pairs
    examples: tuple[tuple[str, str], ...] = ()
    #: a data column of known answers for this rule (never shown to the model); not
    #: part of the identity: labels change the answers only through `examples`
    gold: str | None = None
    #: a formula: only rows where it is true are judged; the rest are skipped (no model
    #: call). Not part of the identity: it picks rows, it does not change an answer
    where: str = ""
    #: a flag's yes is a "finding" (red, "flagged") or "good" (green); "": guessed from the
    #: words (polarity.py). Not part of the identity: it changes the look, not the answers
    yes_means: str = ""
    #: the user asked the rule to learn its labels (learned.py: a head over the model's
    #: kept states, from LEARN_FROM labels) instead of being taught by them. Off by
    #: default: over the dev suite the head did not beat teaching by 0.05 (docs/learning.md). Not
    #: part of the identity: it changes how labels decide, not the prompt
    learn: bool = False

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise RuleError("The rule is empty: write what each row should be judged on.")
        if not self.name.strip():
            raise RuleError("A rule column needs a name.")
        object.__setattr__(self, "where", self.where.strip())
        if self.where and not kind_of(self).judged:
            raise RuleError("Only a rule column has a condition; a formula can use if().")
        for name, value in kind_of(self).check(self).items():
            object.__setattr__(self, name, value)

    def references(self) -> list[str]:
        """The columns the rule names, in order, without repeats (`{column}` in a rule)."""
        return kind_of(self).rule_references(self)

    def dependencies(self) -> list[str]:
        """Every column the rule needs first: its references and its condition's."""
        return list(dict.fromkeys([*self.references(), *names(self.where)]))

    def check_columns(self, columns: Sequence[str]) -> None:
        """Raise a RuleError naming any referenced column that does not exist."""
        unknown = [name for name in self.references() if name not in columns]
        if unknown:
            shown = ", ".join(f"{{{n}}}" for n in unknown)
            raise RuleError(
                f"Unknown column {shown} in rule {self.name!r}. Columns are: {', '.join(columns)}."
            )

    def answer_text(self, value: str | float | bool) -> str:
        """How the model should say `value` (an example's answer)."""
        return kind_of(self).answer_text(self, value)

    def question(self) -> Question | None:
        """The typed question the rule asks of each row (None for a formula)."""
        return kind_of(self).question(self)

    def candidates(self) -> tuple[str, ...]:
        """The answers the model chooses between (empty for free text)."""
        return kind_of(self).candidates(self)

    def identity(self) -> str:
        """A canonical string of everything that changes the answer (not the name)."""
        parts: dict[str, object] = {"labels": [], "scale": [], "max_tokens": 0}
        parts.update(kind_of(self).identity(self))
        parts.update(
            kind=self.kind.value,
            text=self.text,
            extra=self.extra,
            examples=[list(e) for e in self.examples],
        )
        return json.dumps(parts, sort_keys=True)
