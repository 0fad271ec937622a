"""Rule columns: name, plain-English text, kind and options; `{column}` references."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from fastsheet.errors import RuleError

_REFERENCE = re.compile(r"\{([^{}]+)\}")


class Kind(enum.Enum):
    FLAG = "flag"
    LABEL = "label"
    SCORE = "score"
    TEXT = "text"


#: how yes and no are written in a gold column, a mark or an example's answer
YES_WORDS = frozenset({"true", "yes", "y", "1", "t", "positive", "pos", "on-policy", "match"})
NO_WORDS = frozenset({"false", "no", "n", "0", "f", "negative", "neg", "off-policy"})


def is_yes(value: object) -> bool:
    """A flag's value read as yes: True, 1, or a yes word ("yes", "true", …)."""
    if isinstance(value, str):
        return value.strip().lower() in YES_WORDS
    return value is not None and bool(value == 1)  # True, 1, 1.0, numpy's True


@dataclass(frozen=True)
class Rule:
    """A rule column. `labels` is for `label`, `scale` for `score`, `max_tokens` for `text`.

    `examples` are filled in by the engine from the rule's labeled rows; they are part of
    the prompt's shared prefix, and of the rule's identity."""

    text: str
    name: str = "rule"
    kind: Kind = Kind.FLAG
    labels: tuple[str, ...] = ()
    scale: tuple[int, int] = (1, 5)
    max_tokens: int = 48
    extra: dict[str, str] = field(default_factory=dict)
    #: labeled rows shown to the model before each row: (record text, answer) pairs
    examples: tuple[tuple[str, str], ...] = ()
    #: a data column of known answers for this rule (never shown to the model); not
    #: part of the identity: labels change the answers only through `examples`
    gold: str | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise RuleError("The rule is empty: write what each row should be judged on.")
        if not self.name.strip():
            raise RuleError("A rule column needs a name.")
        if self.kind is Kind.LABEL:
            labels = tuple(label.strip() for label in self.labels if label.strip())
            if not labels:
                raise RuleError("A label rule needs at least one label, e.g. --labels spam,ham.")
            if len(set(labels)) != len(labels):
                raise RuleError(f"Labels must be distinct: {', '.join(self.labels)}.")
            object.__setattr__(self, "labels", labels)
        if self.kind is Kind.SCORE:
            lo, hi = self.scale
            if lo >= hi or hi - lo > 20:
                raise RuleError(
                    f"Bad scale {lo}-{hi}: give LO-HI with LO < HI and at most 21 steps, e.g. 1-5."
                )
        if self.kind is Kind.TEXT and not 1 <= self.max_tokens <= 512:
            raise RuleError("A text rule's answer length must be between 1 and 512 tokens.")

    def references(self) -> list[str]:
        """Column names named as `{column}` in the rule text, in order, without repeats."""
        return list(dict.fromkeys(m.strip() for m in _REFERENCE.findall(self.text)))

    def check_columns(self, columns: Sequence[str]) -> None:
        """Raise a RuleError naming any referenced column that does not exist."""
        unknown = [name for name in self.references() if name not in columns]
        if unknown:
            names = ", ".join(f"{{{n}}}" for n in unknown)
            raise RuleError(
                f"Unknown column {names} in rule {self.name!r}. Columns are: {', '.join(columns)}."
            )

    def answer_text(self, value: str | float | bool) -> str:
        """How the model should say `value` (an example's answer)."""
        if self.kind is Kind.FLAG:
            return "Yes" if is_yes(value) else "No"
        if self.kind is Kind.SCORE:
            return str(round(float(value)))
        return str(value)

    def candidates(self) -> tuple[str, ...]:
        """The answers the model chooses between (empty for free text)."""
        if self.kind is Kind.FLAG:
            return ("Yes", "No")
        if self.kind is Kind.LABEL:
            return self.labels
        if self.kind is Kind.SCORE:
            lo, hi = self.scale
            return tuple(str(v) for v in range(lo, hi + 1))
        return ()

    def identity(self) -> str:
        """A canonical string of everything that changes the answer (not the name)."""
        return json.dumps(
            {
                "kind": self.kind.value,
                "text": self.text,
                "labels": list(self.labels) if self.kind is Kind.LABEL else [],
                "scale": list(self.scale) if self.kind is Kind.SCORE else [],
                "max_tokens": self.max_tokens if self.kind is Kind.TEXT else 0,
                "extra": self.extra,
                "examples": [list(e) for e in self.examples],
            },
            sort_keys=True,
        )


def parse_scale(text: str) -> tuple[int, int]:
    """Parse `LO-HI`, e.g. `1-5`."""
    match = re.fullmatch(r"\s*(-?\d+)\s*-\s*(-?\d+)\s*", text)
    if not match:
        raise RuleError(f"Bad scale {text!r}: write it as LO-HI, e.g. 1-5.")
    return int(match.group(1)), int(match.group(2))


def parse_labels(text: str) -> tuple[str, ...]:
    """Parse a comma-separated label list."""
    labels = tuple(part.strip() for part in text.split(",") if part.strip())
    if not labels:
        raise RuleError("The label set is empty: give labels as --labels A,B,C.")
    return labels
