"""Formula columns: the grammar, its values on real types, and every error it can give."""

from __future__ import annotations

import contextlib
import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import BOOL, NUMBER, TEXT, FormulaError, parse_formula

FRAME = pl.DataFrame(
    {
        "years_experience": [1, 5, 9, None],
        "skills": ["python, sql", "Java", "PYTHON", None],
        "joined": [dt.date(2020, 1, 1), dt.date(2024, 5, 1), None, dt.date(2023, 1, 1)],
        "led_team": [True, False, True, None],
        "home city": ["Oslo", "", "Lima", "  "],
        "salary": [50_000.0, 72_500.5, 91_000.0, 40_000.0],
    }
)


def values(text: str) -> list:
    return parse_formula(text, FRAME.schema).evaluate(FRAME).to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('years_experience >= 5 and contains(skills, "Python")', [False, False, True, None]),
        ('{years_experience} >= 5 AND CONTAINS({skills}, "python")', [False, False, True, None]),
        ("years_experience + 1", [2, 6, 10, None]),
        ("-years_experience * 2 % 7", [5, 4, 3, None]),
        ("(1 + 2) * 3 - 10 / 4", [6.5] * 4),
        ("salary / 1000 > 60", [False, True, True, False]),
        ("not led_team", [False, True, False, None]),
        ("led_team or years_experience > 8", [True, False, True, None]),
        ('skills = "java"', [False, True, False, None]),
        ('exact(skills, "java")', [False, False, False, None]),
        ('skills <> "java"', [True, False, True, None]),
        ('starts_with(skills, "PY") or ends_with(skills, "VA")', [True, True, True, None]),
        ("len(skills)", [11, 4, 6, None]),
        ("lower(skills) & '!'", ["python, sql!", "java!", "python!", None]),
        ("upper(trim({home city}))", ["OSLO", "", "LIMA", ""]),
        ('joined >= "2023-01-01"', [False, True, None, True]),
        ('joined < date("2021-06-30")', [True, False, None, False]),
        ("year(joined) * 100 + month(joined)", [202001, 202405, None, 202301]),
        ("day(joined)", [1, 1, None, 1]),
        ("is_empty({home city})", [False, True, False, True]),
        ("is_empty(years_experience)", [False, False, False, True]),
        ('if(led_team, "lead", "member")', ["lead", "member", "lead", "member"]),
        ("if(years_experience > 4, salary, 0)", [0.0, 72_500.5, 91_000.0, 0.0]),
        ('skills in ("java", "python")', [False, True, True, None]),
        ("round(salary / 1000, 1)", [50.0, 72.5, 91.0, 40.0]),
        ("abs(years_experience - 6)", [5, 1, 3, None]),
        ("min(years_experience, 4) + max(1, 2, 3)", [4, 7, 7, 7]),  # blanks ignored
        ("true and not false", [True] * 4),
        ('"a \\"quoted\\" word"', ['a "quoted" word'] * 4),
        ("1.5e1 + .5", [15.5] * 4),
        ("led_team && !false || 1 == 2", [True, False, True, None]),
    ],
)
def test_valid_formulas_compute_over_every_row(text: str, expected: list) -> None:
    assert values(text) == expected


def test_a_formula_knows_its_type_and_the_columns_it_reads() -> None:
    f = parse_formula('years_experience >= 5 and contains({skills}, "x")', FRAME.schema)
    assert (f.type, f.references) == (BOOL, ("years_experience", "skills"))
    assert parse_formula("len(skills) + years_experience", FRAME.schema).type == NUMBER
    assert parse_formula("lower(skills)", FRAME.schema).type == TEXT


def test_a_condition_treats_empty_as_false() -> None:
    f = parse_formula("years_experience >= 5", FRAME.schema)
    assert f.condition(FRAME).to_list() == [False, True, True, False]
    with pytest.raises(RuleError, match="must be true or false"):
        parse_formula("years_experience + 1", FRAME.schema).condition(FRAME)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "The formula is empty", None),
        ("years_experience >=", "Expected a value, but the formula ends here", 20),
        ("years_experience > 1 > 0", "Comparisons do not chain", 22),
        ("(1 + 2", "Expected ')' to close the bracket, found the end", 7),
        ('contains(skills, "a"', "Expected ')' to close contains(…)", 21),
        ('"abc', "no closing quote", 1),
        ("{skills", "no closing brace", 1),
        ("skills + 1", "'+' needs a number here, not text", 1),
        ("- skills", "'-' needs a number here, not text", 3),
        ("led_team and 3", "'and' needs true/false here, not a number", 14),
        ("not salary", "'not' needs true/false here, not a number", 5),
        ("skills > 3", "Cannot compare text with a number", 8),
        ("led_team < true", "'<' does not order true/false values", 10),
        ('joined > "yesterday"', "'yesterday' is not a date: write it as YYYY-MM-DD", 10),
        ("nope > 1", "Unknown column 'nope'. Columns are: years_experience", 1),
        ("years_expereince > 1", "did you mean years_experience?", 1),
        ("{home town} = 'x'", "did you mean home city?", 1),
        ("contains(skills)", "contains() takes 2 arguments, not 1", 16),
        ("len(skills, 2)", "len() takes 1 argument, not 2", 14),
        ("len(salary)", "len() needs text here, not a number", 5),
        ("year(skills)", "year() needs a date here, not text", 6),
        ('if(led_team, 1, "x")', "if() gives a number or text", 17),
        ("round(salary, 1.5)", "round()'s digits must be a whole number", 15),
        ("salary 5", "Expected an operator or the end, not '5'", 8),
        ("and", "Expected a value before 'and'", 1),
        (")", "Expected a value, found ')'", 1),
        ("skills in 'a'", "Expected '(' after in", 11),
        ("a.b", "Unexpected character '.'", 2),
    ],
)
def test_every_error_names_the_position_and_what_was_expected(
    text: str, message: str, position: int | None
) -> None:
    with pytest.raises(RuleError) as caught:
        parse_formula(text, FRAME.schema)
    assert message in str(caught.value)
    if position is not None:
        assert isinstance(caught.value, FormulaError)
        assert caught.value.position + 1 == position
        assert f"(at character {position})" in str(caught.value)
        pointer = str(caught.value).splitlines()[-1]
        assert pointer.index("^") - 2 == position - 1  # the caret sits under the spot


@pytest.mark.parametrize(
    "text",
    [
        '__import__("os").system("echo hacked")',
        "eval('1+1')",
        "exec('x=1')",
        "skills.__class__",
        "().__class__.__bases__[0]",
        "open('/etc/passwd')",
        "lambda: 1",
        "[c for c in skills]",
        "skills; import os",
        "getattr(skills, 'upper')",
        "__builtins__",
    ],
)
def test_injection_attempts_are_errors_never_code(text: str) -> None:
    with pytest.raises(FormulaError):
        parse_formula(text, FRAME.schema)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("abs_ {}()\"'<>=!&|+-*/%.,0123 5ANDnot")), max_size=30)
)
def test_any_text_parses_or_gives_a_formula_error(text: str) -> None:
    with contextlib.suppress(RuleError):
        parse_formula(text, {"a": pl.Int64, "b": pl.String, "s": pl.Boolean})


def test_a_million_rows_compute_in_one_expression() -> None:
    big = pl.DataFrame(
        {"years_experience": list(range(1_000_000)), "skills": ["Python"] * 1_000_000}
    )
    f = parse_formula('years_experience % 3 = 0 and contains(skills, "py")', big.schema)
    assert f.evaluate(big).sum() == 333_334
