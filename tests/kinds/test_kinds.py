"""Column kinds: one module per kind, and nothing else branches on a kind."""

from __future__ import annotations

import re
from pathlib import Path

from fastsheet.kinds import KINDS, kind_of
from fastsheet.kinds.rules import Kind, Rule

ROOT = Path(__file__).resolve().parents[2]
BRANCH = re.compile(r"\.kind\s+(?:is not|is|==|!=|not in|in)\s+(?:Kind\.|\(Kind\.)")


def test_every_kind_has_its_own_module():
    assert set(KINDS) == {k.value for k in Kind}
    modules = {type(kind).__module__ for kind in KINDS.values()}
    assert modules == {f"fastsheet.kinds.{k.value}" for k in Kind}


def test_no_module_outside_the_kinds_branches_on_a_kind():
    offenders = []
    for folder in ("fastsheet", "ui"):
        for path in (ROOT / folder).rglob("*.py"):
            if "kinds" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if BRANCH.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "ask the kind instead:\n" + "\n".join(offenders)


def test_a_kind_makes_its_rules_from_what_the_user_typed():
    label = kind_of("label").make("Which topic?", "topic", {"labels": "a, b ,c"}, None)
    assert label.labels == ("a", "b", "c") and label.kind is Kind.LABEL
    score = kind_of("score").make("How good?", "s", {"scale": "0-3"}, None)
    assert score.candidates() == ("0", "1", "2", "3")
    old = Rule("x", name="t", kind=Kind.TEXT, max_tokens=99)
    assert kind_of("text").make("Reply", "t", {}, old).max_tokens == 99
    for kind in KINDS.values():  # a new column of each kind is valid as it comes
        rule = kind.make(kind.default_text, kind.base_name, kind.default_options, None)
        assert rule.kind.value == kind.name
