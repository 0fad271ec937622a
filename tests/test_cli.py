"""The CLI contract, end to end with the real default model, and every bad input."""

import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent


def fastsheet(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fastsheet.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ},
        timeout=600,
    )


@pytest.fixture
def data(tmp_path: Path, reviews: pl.DataFrame) -> Path:
    path = tmp_path / "reviews.csv"
    reviews.write_csv(path)
    return path


def test_eval_flag_with_gold_writes_results_and_summary(tmp_path: Path, data: Path):
    out = tmp_path / "out.csv"
    cache = tmp_path / "c.sqlite"
    run = fastsheet(
        "eval",
        str(data),
        "--rule",
        "The review is positive.",
        "--gold",
        "gold",
        "--out",
        str(out),
        "--cache",
        str(cache),
    )
    assert run.returncode == 0, run.stderr
    result = pl.read_csv(out)
    assert result.columns == ["source", "review", "gold", "rule", "rule_p", "rule_source"]
    assert result["rule"].dtype == pl.Boolean
    assert result["rule_p"].is_between(0, 1).all()
    # rule_p is the probability of the decided answer: p(yes) for flagged rows, p(no) otherwise;
    # one threshold decides, so every flagged row has a higher p(yes) than every other row
    p_yes = result.select(
        pl.when(pl.col("rule")).then(pl.col("rule_p")).otherwise(1 - pl.col("rule_p"))
    )
    flagged = p_yes.to_series().filter(result["rule"])
    cleared = p_yes.to_series().filter(~result["rule"])
    assert flagged.len() and cleared.len() and flagged.min() >= cleared.max()
    lines = run.stdout.splitlines()
    # counted by the rule's own noun ("The review is positive." -> positive)
    assert lines[0].endswith(f"/ {len(result)} positive ({100 * result['rule'].mean():.1f}%)")
    assert any(line.startswith("gold: ") and "precision" in line for line in lines)
    assert f"taught from {len(result)} labels" in run.stdout  # --gold teaches the rule
    assert "rows/s" in run.stderr
    # the second run is served from the cache: same output
    again = fastsheet(
        "eval",
        str(data),
        "--rule",
        "The review is positive.",
        "--gold",
        "gold",
        "--out",
        str(out),
        "--cache",
        str(cache),
    )
    assert again.returncode == 0
    cached = pl.read_csv(out)
    assert cached.drop("rule_source").equals(result.drop("rule_source"))
    assert set(result["rule_source"]) == {"model"} and set(cached["rule_source"]) == {"cache"}


def test_eval_where_judges_only_the_rows_it_keeps(tmp_path: Path, data: Path):
    out = tmp_path / "where.csv"
    run = fastsheet(
        "eval",
        str(data),
        "--rule",
        "The review is positive.",
        "--where",
        "len(review) > 20",
        "--out",
        str(out),
        "--no-cache",
    )
    assert run.returncode == 0, run.stderr
    result = pl.read_csv(out)
    long = result["review"].str.len_chars() > 20
    assert 0 < long.sum() < len(result)
    assert result.filter(~long)["rule"].is_null().all()
    assert set(result.filter(~long)["rule_source"]) == {"skipped"}
    assert set(result.filter(long)["rule_source"]) == {"model"}
    assert result.filter(long)["rule"].is_not_null().all()
    assert run.stdout.splitlines()[0].endswith(f"· {(~long).sum()} skipped")


def test_eval_formula_kind_needs_no_model(tmp_path: Path, data: Path):
    out = tmp_path / "f.csv"
    run = fastsheet(
        "eval",
        str(data),
        "--kind",
        "formula",
        "--name",
        "short",
        "--rule",
        'len(review) <= 20 or contains(review, "great")',
        "--out",
        str(out),
        "--model",
        str(tmp_path / "no-such-model.gguf"),  # never loaded
    )
    assert run.returncode == 0, run.stderr
    result = pl.read_csv(out)
    expected = (result["review"].str.len_chars() <= 20) | result[
        "review"
    ].str.to_lowercase().str.contains("great")
    assert result["short"].to_list() == expected.to_list()
    assert run.stdout.startswith(f"{expected.sum()} / {len(result)} true")


def test_eval_label_to_parquet_with_custom_name(tmp_path: Path):
    data = tmp_path / "q.csv"
    pl.DataFrame(
        {
            "question": [
                "Who wrote Hamlet?",
                "How many legs does a spider have?",
                "Where is the Eiffel Tower?",
            ]
        }
    ).write_csv(data)
    out = tmp_path / "q.parquet"
    run = fastsheet(
        "eval",
        str(data),
        "--rule",
        "What the question asks for.",
        "--kind",
        "label",
        "--labels",
        "person,number,location",
        "--name",
        "asks",
        "--out",
        str(out),
        "--no-cache",
    )
    assert run.returncode == 0, run.stderr
    result = pl.read_parquet(out)
    assert result["asks"].to_list() == ["person", "number", "location"]
    assert result["asks_p"].is_between(0, 1).all()
    assert "person: 1" in run.stdout


def test_eval_score_and_text(tmp_path: Path, data: Path):
    out = tmp_path / "s.csv"
    run = fastsheet(
        "eval",
        str(data),
        "--rule",
        "How positive is the {review}?",
        "--kind",
        "score",
        "--scale",
        "1-5",
        "--out",
        str(out),
        "--no-cache",
    )
    assert run.returncode == 0, run.stderr
    scored = pl.read_csv(out)
    assert scored["rule"].is_between(1, 5).all() and "mean" in run.stdout
    # known scores (5 for a positive review, 1 for a negative) teach it by examples
    starred = tmp_path / "starred.csv"
    frame = pl.read_csv(data)
    frame.with_columns(stars=pl.when(pl.col("gold")).then(5).otherwise(1)).write_csv(starred)
    run = fastsheet(
        "eval",
        str(starred),
        "--rule",
        "How positive is the {review}?",
        "--kind",
        "score",
        "--gold",
        "stars",
        "--out",
        str(tmp_path / "g.csv"),
        "--no-cache",
    )
    assert run.returncode == 0, run.stderr
    assert "taught from 12 labels (8 shown as examples)" in run.stdout
    assert re.search(r"gold: \d+/12 match", run.stdout), run.stdout
    out2 = tmp_path / "t.csv"
    run = fastsheet(
        "eval",
        str(data),
        "--rule",
        "Name the food or service the {review} talks about, in one or two words.",
        "--kind",
        "text",
        "--out",
        str(out2),
        "--no-cache",
    )
    assert run.returncode == 0, run.stderr
    text = pl.read_csv(out2)
    assert text["rule"].str.len_chars().min() > 0
    assert text["rule_p"].is_null().all()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing_file", "No such file"),
        ("bad_format", "not a well-formed CSV"),
        ("unknown_column", "Unknown column {nope}"),
        ("not_gguf", "not a GGUF"),
        ("empty_labels", "label set is empty"),
        ("unknown_suffix", "unknown file type"),
        ("unknown_gold", "Unknown gold column"),
        (
            "where_not_a_condition",
            "A condition must be true or false; 'len(review)' gives a number",
        ),
    ],
)
def test_bad_input_exits_nonzero_with_one_clear_line(
    tmp_path: Path, data: Path, case: str, expected: str
):
    out = tmp_path / "out.csv"
    out.write_text("precious earlier results\n")
    args = ["eval", str(data), "--rule", "The review is positive.", "--out", str(out), "--no-cache"]
    if case == "missing_file":
        args[1] = str(tmp_path / "nope.csv")
    elif case == "bad_format":
        bad = tmp_path / "bad.csv"
        bad.write_text('a,b\n1,2\n3,"x\n4,5,6\n')
        args[1] = str(bad)
    elif case == "unknown_column":
        args[3] = "Is {nope} positive?"
    elif case == "not_gguf":
        fake = tmp_path / "model.gguf"
        fake.write_text("not a model")
        args += ["--model", str(fake)]
    elif case == "empty_labels":
        args += ["--kind", "label", "--labels", ","]
    elif case == "unknown_suffix":
        weird = tmp_path / "data.docx"
        weird.write_text("x")
        args[1] = str(weird)
    elif case == "unknown_gold":
        args += ["--gold", "verdict"]
    elif case == "where_not_a_condition":
        args += ["--where", "len(review)"]
    run = fastsheet(*args)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("fastsheet: error: ") and expected in lines[0]
    assert out.read_text() == "precious earlier results\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--kind", "formula", "--rule", "len(review) >"],
            "Expected a value, but the formula ends",
        ),
        (["--kind", "formula", "--rule", "review > 3"], "Cannot compare text with a number"),
        (["--rule", "The review is positive.", "--where", "nope = 1"], "Unknown column 'nope'"),
    ],
)
def test_a_bad_formula_says_where_with_a_caret(
    tmp_path: Path, data: Path, args: list[str], expected: str
):
    run = fastsheet("eval", str(data), *args, "--out", str(tmp_path / "o.csv"), "--no-cache")
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert lines[0].startswith("fastsheet: error: ") and expected in lines[0]
    assert lines[-1].strip() == "^" and not (tmp_path / "o.csv").exists()


def test_models_lists_the_default(model_path: Path):
    from fastsheet.backends.models import resolve_model

    run = fastsheet("models")
    assert run.returncode == 0
    assert resolve_model(None).name + " (default)" in run.stdout
    assert model_path.name in run.stdout  # the Fast tier is listed too
    assert "Q4_0 · verified" in run.stdout


def test_models_pull_unknown_name():
    run = fastsheet("models", "pull", "gpt-17")
    assert run.returncode == 2 and "Unknown model 'gpt-17'" in run.stderr


def test_a_partly_filled_gold_column_of_enough_labels_is_learned(tmp_path: Path):
    """40 of 96 emails labelled, with --learn: the rule learns them (a head over the
    model's reading of each row) and decides the other 56 better than the model's answer
    alone did; without --learn the same labels teach it (examples and a threshold)."""
    from tests.ui.test_label_next import spam_sheet

    path, gold = spam_sheet(tmp_path)
    frame = pl.read_csv(path)
    labelled = [gold[i] if i < 40 else None for i in range(frame.height)]
    with_gold = tmp_path / "labelled.csv"
    frame.with_columns(pl.Series("gold", labelled, dtype=pl.Boolean)).write_csv(with_gold)
    args = ["--rule", "The email is spam.", "--model", "qwen2.5-coder-0.5b"]
    args += ["--cache", str(tmp_path / "c.sqlite")]
    plain = fastsheet("eval", str(path), *args, "--out", str(tmp_path / "plain.csv"))
    learned = fastsheet(
        "eval",
        str(with_gold),
        *args,
        "--gold",
        "gold",
        "--learn",
        "--out",
        str(tmp_path / "out.csv"),
    )
    assert plain.returncode == 0 and learned.returncode == 0, learned.stderr
    assert "taught from 40 labels · learned; agrees with them, each held out: " in learned.stdout
    assert "(the labels it learned from)" in learned.stdout
    out = pl.read_csv(tmp_path / "out.csv")
    assert set(out["rule_source"]) == {"cache"}  # the plain run's answers, states and all
    rest = range(40, frame.height)

    def balanced(decided: list[bool]) -> float:
        by = [[decided[i] == gold[i] for i in rest if gold[i] is k] for k in (True, False)]
        return sum(sum(c) / len(c) for c in by) / 2

    before = balanced(pl.read_csv(tmp_path / "plain.csv")["rule"].to_list())
    assert balanced(out["rule"].to_list()) >= max(0.65, before + 0.1)
    taught = fastsheet(
        "eval", str(with_gold), *args, "--gold", "gold", "--out", str(tmp_path / "taught.csv")
    )
    assert taught.returncode == 0, taught.stderr
    assert "taught from 40 labels (" in taught.stdout and "· learned" not in taught.stdout


def test_learn_without_a_gold_column_says_what_it_needs(tmp_path: Path, data: Path):
    run = fastsheet("eval", str(data), "--rule", "Is it spam?", "--learn", "--no-cache")
    assert run.returncode == 2
    assert "--learn learns a flag, label or score rule's known answers" in run.stderr
    assert "--gold" in run.stderr


def test_explain_writes_a_reason_for_each_flagged_row(tmp_path: Path, data: Path):
    out = tmp_path / "out.csv"
    run = fastsheet(
        "eval",
        str(data),
        "--rule",
        "The review is positive.",
        "--model",
        "qwen2.5-coder-0.5b",
        "--explain",
        "--out",
        str(out),
        "--cache",
        str(tmp_path / "c.sqlite"),
    )
    assert run.returncode == 0, run.stderr
    result = pl.read_csv(out)
    assert "rule_why" in result.columns
    flagged = result.filter(pl.col("rule"))
    assert flagged.height and flagged["rule_why"].null_count() == 0
    assert result.filter(~pl.col("rule"))["rule_why"].null_count() == result.height - flagged.height
    assert f"wrote {flagged.height} reason" in run.stdout
    for review, why in zip(flagged["review"], flagged["rule_why"], strict=True):
        words = {w for w in why.lower().replace(".", " ").split() if len(w) >= 4}
        assert words & set(review.lower().replace(".", " ").split()) or "positive" in why.lower()
