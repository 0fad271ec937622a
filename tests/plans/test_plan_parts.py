"""The compiler's parts without a model: column facts, the grammar, the guard, plans."""

from __future__ import annotations

import polars as pl
import pytest

from fastsheet.backends.framing import RECORD
from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import parse_formula
from fastsheet.formula.shortcircuit import all_of, conjuncts
from fastsheet.plans.columns import describe, table_text, unit_of
from fastsheet.plans.compiler import Plan, guarded, parse_plan, turns
from fastsheet.plans.grammar import column_token, plan_grammar
from fastsheet.plans.guard import degenerate, value_problems
from fastsheet.sheet.compiled import evaluate_plan, formula_decided

FRAME = pl.DataFrame(
    {
        "state": ["MA", "CA", "TX", "VT", "CA", "NY"] * 5,
        "weight_kg": [1.5, 80.0, 3.2, 12.0, 0.4, 7.7] * 5,
        "skills": ["python, sql", "java", "python, go", "sql", "go, java", "python"] * 5,
        "category": ["sql", "python", "rust", "sql", "go", "java"] * 5,
        "note": [
            f"A long free-text note number {i} that says many different things." for i in range(30)
        ],
    }
)


def test_columns_are_described_from_the_data():
    facts = {f.name: f for f in describe(FRAME)}
    assert facts["state"].values == ("CA", "MA", "NY", "TX", "VT")
    assert facts["weight_kg"].unit == "kilograms" and facts["weight_kg"].low == "0.4"
    assert facts["skills"].is_list and set(facts["skills"].items) == {"python", "sql", "java", "go"}
    assert facts["note"].free_text and not facts["category"].is_list
    text = table_text(describe(FRAME))
    assert "- skills: a comma-separated list of text items" in text
    assert unit_of("last_90_days") == "days" and unit_of("amount") == ""


def test_a_list_column_in_the_language():
    """`value in list_column` reads a comma-separated list, as the model writes it."""
    got = parse_formula("category not in skills", FRAME.schema).evaluate(FRAME).to_list()[:6]
    assert got == [False, True, True, False, False, True]
    assert parse_formula('"Python" in skills', FRAME.schema).evaluate(FRAME).sum() == 15
    with pytest.raises(RuleError, match="needs text on both sides"):
        parse_formula("weight_kg in skills", FRAME.schema)


def test_the_grammar_names_every_column_and_only_them():
    grammar = plan_grammar(describe(FRAME))
    assert 'column ::= "state" | "weight_kg" | "skills" | "category" | "note"' in grammar
    assert column_token("order") == "order" and column_token("in") == "{in}"
    assert column_token("first name") == "{first name}"


def test_a_plan_reads_as_two_lines():
    assert parse_plan('exact: state = "MA"\nrest: none\n') == Plan('state = "MA"', "")
    assert parse_plan("exact: none\nrest: The {note} is rude.") == Plan("", "The {note} is rude.")
    with pytest.raises(RuleError):
        parse_plan("state = MA")
    chat = turns("- state: text")
    assert (
        chat[0]["role"] == "system"
        and chat[-1]["content"] == f"Columns:\n- state: text\nRule: {RECORD}"
    )
    assert [t["role"] for t in chat[1:3]] == ["user", "assistant"]


def test_the_guard_finds_values_the_data_does_not_hold_and_free_text():
    facts = describe(FRAME)
    problems = value_problems(
        'state in ("MA", "ZZ") and "rust" in skills and contains(note, "x")', facts
    )
    assert len(problems) == 3
    assert any('"ZZ" is not a value of state' in p for p in problems)
    assert any('"rust" is not an item of skills' in p for p in problems)
    assert any("note is free text" in p for p in problems)
    assert value_problems('lower(state) = "ma" or "python" in skills', facts) == []


def test_a_faulty_part_leaves_the_rest_exact_and_the_whole_rule_to_the_model():
    facts = describe(FRAME)
    plan, problems = guarded(
        Plan('weight_kg > 2 and "rust" in skills', ""), "Heavy rust people", facts, FRAME
    )
    assert plan == Plan("weight_kg > 2", "Heavy rust people") and problems
    nothing, why = guarded(Plan('"rust" in skills', ""), "Rust people", facts, FRAME)
    assert nothing is None and why
    degenerate_plan, why = guarded(Plan("weight_kg > 1000", ""), "Heavy", facts, FRAME)
    assert degenerate_plan is None and "none of the 30 rows" in why[-1]
    assert degenerate(pl.Series([True] * 25)) is not None
    assert conjuncts("a and (b or c) and d") == ["a", "(b or c)", "d"]
    assert conjuncts("a or b") is None and all_of(["a", "b or c"]) == "a and (b or c)"


def test_a_plan_with_no_rest_decides_every_row_with_no_model():
    from fastsheet.kinds.rules import Rule

    result, calibration, runner = evaluate_plan(
        FRAME, Rule("New England"), Plan('state in ("MA", "VT")', ""), backend=None
    )
    values, _ = result.decide(calibration)
    assert runner is None and values.sum() == 10
    assert formula_decided(result).all()
    assert set(result.source_column().to_list()) == {"formula"}


def test_a_plan_true_on_no_row_or_on_every_row_of_a_slice_still_decides_it():
    from fastsheet.kinds.rules import Rule

    for formula, expected in (("weight_kg > 1000", 0), ("weight_kg > 0", 6)):
        result, calibration, _ = evaluate_plan(FRAME.head(6), Rule("x"), Plan(formula, ""), None)
        assert result.decide(calibration)[0].sum() == expected
