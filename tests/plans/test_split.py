"""Split into steps: the rule-based proposer, its checks and its fallbacks (no model)."""

from __future__ import annotations

import polars as pl
import pytest

from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import parse_formula
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.plans.split import Step, check_steps, propose_split
from tests.conftest import ROOT

SAMPLES = ROOT / "resources" / "samples"
DATA = ROOT / "bench" / "data"


def sheet(path, *drop: str) -> pl.DataFrame:
    return pl.read_csv(path).drop(*drop, strict=False)


def test_the_candidates_rule_splits_into_the_starters_steps():
    frame = sheet(SAMPLES / "candidates.csv", "qualifies")
    split = propose_split(
        Rule("At least 5 years of experience with Python, and has led a team"), frame
    )
    assert split.ok, split.reason
    assert [(s.kind, s.text, s.where) for s in split.steps] == [
        (Kind.FORMULA, "years_experience >= 5", ""),
        (Kind.FORMULA, 'contains(skills, "Python")', ""),
        (Kind.FLAG, "Flag if the {summary} says: has led a team.",
         "years_experience_at_least_5 and has_python"),
        (Kind.FORMULA, "years_experience_at_least_5 and has_python and led_team", ""),
    ]  # fmt: skip
    assert split.steps[-1].name == "rule"  # the rule's own column becomes the combination


@pytest.mark.parametrize(
    ("path", "text", "formula", "fuzzy"),
    [
        (DATA / "reviews.csv", "The review is from yelp and is positive.", 'source = "yelp"',
         "Flag if the {review} is positive."),
        (DATA / "reviews.csv", "The review is positive and is shorter than 60 characters.",
         "len(review) < 60", "Flag if the {review} is positive."),
        (DATA / "sarcasm.csv", "The statement is sarcastic and is longer than 80 characters.",
         "len(statement) > 80", "Flag if the {statement} is sarcastic."),
        (DATA / "spam_emails.csv", "The email is spam and the body is shorter than 200 characters.",
         "len(body) < 200", "Flag if the email is spam."),
    ],
)  # fmt: skip
def test_compound_rules_over_the_dev_suite_split(path, text, formula, fuzzy):
    frame = sheet(path, "gold")
    split = propose_split(Rule(text, name="compound"), frame)
    assert split.ok, split.reason
    exact, rule, combination = split.steps
    assert exact.text == formula and rule.text == fuzzy and rule.where == exact.name
    assert combination == Step("compound", Kind.FORMULA, f"{exact.name} and {rule.name}")
    check_steps(split.steps, dict(frame.schema))  # valid over the sheet


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (Rule("The review is positive."), "No part of this rule is exact"),
        (Rule("The review is positive or from yelp."), "“or” is not split"),
        (Rule("Sentiment", kind=Kind.LABEL, labels=("good", "bad")), "Only a flag rule"),
        (Rule("The review is from nowhere and is kind."), "No part of this rule is exact"),
    ],
)
def test_a_rule_that_cannot_be_split_says_why_and_proposes_nothing(rule, reason):
    split = propose_split(rule, sheet(DATA / "reviews.csv", "gold"))
    assert not split.ok and split.steps == []
    assert reason in split.reason


def test_names_never_collide_with_existing_columns():
    frame = sheet(DATA / "reviews.csv", "gold")
    rule = Rule("The review is from yelp and is positive.")
    split = propose_split(rule, frame, taken={"source_yelp", "positive"})
    assert [s.name for s in split.steps] == ["source_yelp_2", "positive_2", "rule"]


def test_checking_steps_names_what_is_wrong():
    schema = dict(sheet(DATA / "reviews.csv", "gold").schema)
    with pytest.raises(RuleError, match="nope"):
        check_steps([Step("a", Kind.FORMULA, "len(nope) < 3")], schema)
    with pytest.raises(RuleError, match="must be true or false"):
        check_steps([Step("b", Kind.FLAG, "Flag if the {review} is kind.", where="len(review)")],
                    schema)  # fmt: skip
    check_steps([Step("a", Kind.FORMULA, "len(review) < 3"),
                 Step("b", Kind.FLAG, "Flag if the {review} is kind.", where="a")], schema)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("Flag if merchant category doesn't match customer's typical spending pattern",
         "not contains(usual_spending, category)"),
        ("Flag if merchant category doesn't match customer's last 90 days spending pattern",
         "not contains(last_90_days, category)"),
        ("Flag if the {category} is not one of the customer's {usual_spending}.",
         "not contains(usual_spending, category)"),
    ],
)  # fmt: skip
def test_a_value_not_among_a_listed_column_is_an_exact_part(text: str, formula: str):
    frame = sheet(SAMPLES / "transactions.csv", "fraud")
    split = propose_split(Rule(text), frame)
    assert split.ok, split.reason
    assert split.steps[0].text == formula
    assert [s.kind for s in split.steps] == [Kind.FORMULA, Kind.FORMULA]  # nothing to ask
    values = frame.select(parse_formula(formula, dict(frame.schema)).expr)[:, 0].to_list()
    column = formula.split("(")[1].split(",")[0]
    truth = [c not in s.split(", ") for c, s in zip(frame["category"], frame[column], strict=True)]
    assert values == truth  # exactly the generator's truth
    assert 0.02 < sum(truth) / len(truth) < 0.2


def test_an_unclear_pair_of_columns_is_not_guessed():
    frame = sheet(SAMPLES / "transactions.csv", "fraud")
    split = propose_split(Rule("Flag if the merchant country doesn't match the spending"), frame)
    assert not split.ok  # country or home_country: a tie, so nothing is proposed
