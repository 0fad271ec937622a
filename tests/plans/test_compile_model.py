"""Rules that compile, with the real default model: compile -> plan -> column, the guard's
fallback, and `fastsheet eval --compile` (the default tier writes plans)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fastsheet.data.table import load_table
from fastsheet.kinds.rules import Rule
from fastsheet.plans.compiler import compile_rule
from fastsheet.sheet.compiled import evaluate_plan, formula_decided, holds
from tests.conftest import ROOT
from tests.helpers import CountingBackend

pytestmark = pytest.mark.model
SAMPLES = ROOT / "resources" / "samples"
FRAUD = "Flag if merchant category doesn't match customer's typical spending pattern"


def test_the_fraud_wording_compiles_exactly_and_its_column_needs_no_model(default_backend):
    frame = load_table(SAMPLES / "transactions.csv")
    truth = np.array(
        [
            c not in s.split(", ")
            for c, s in zip(frame["category"], frame["usual_spending"], strict=True)
        ]
    )
    compiled = compile_rule(default_backend, FRAUD, frame, skip=("fraud",))
    assert compiled.accepted, compiled.problems
    assert compiled.plan.exact == "category not in usual_spending" and not compiled.plan.rest
    counting = CountingBackend(default_backend)
    result, calibration, _ = evaluate_plan(frame, Rule(FRAUD), compiled.plan, counting)
    values, _ = result.decide(calibration)
    assert counting.rows == 0 and formula_decided(result).all()
    assert np.array_equal(values.astype(bool), truth)  # every one of the 10,000 rows


def test_a_mixed_rule_asks_the_model_only_where_its_exact_part_holds(default_backend):
    frame = load_table(SAMPLES / "candidates.csv").drop("qualifies")
    text = "At least 5 years of experience with Python, and has led a team"
    compiled = compile_rule(default_backend, text, frame)
    assert compiled.accepted and compiled.plan.rest, compiled
    assert "years_experience >= 5" in compiled.plan.exact
    keep = holds(compiled.plan, frame)
    assert 0 < keep.sum() < 120  # the senior ones only
    counting = CountingBackend(default_backend)
    result, _, runner = evaluate_plan(frame, Rule(text), compiled.plan, counting)
    assert runner is not None and runner.rule.text == compiled.plan.rest
    # the kept rows (each distinct record once) and the 3 content-free records the
    # threshold is calibrated on; none of the other rows
    assert counting.rows <= keep.sum() + 3
    assert formula_decided(result).sum() == len(frame) - keep.sum()


def test_a_wholly_fuzzy_rule_is_not_compiled(default_backend, reviews: pl.DataFrame):
    compiled = compile_rule(default_backend, "The review is positive.", reviews, skip=("gold",))
    assert not compiled.accepted


def test_eval_compiles_with_compile_and_judges_every_row_without(tmp_path: Path):
    data = tmp_path / "tx.csv"
    load_table(SAMPLES / "transactions.csv").head(12).write_csv(data)
    base = [sys.executable, "-m", "fastsheet.cli", "eval", str(data), "--rule", FRAUD]
    base += ["--model", "qwen2.5-coder-1.5b", "--gold", "fraud", "--cache", str(tmp_path / "c")]
    env = {**os.environ}
    run = subprocess.run([*base, "--compile", "--out", str(tmp_path / "a.csv"), "--explain"],
                         capture_output=True, text=True, env=env, timeout=900)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "compiled in" in run.stdout and "category not in usual_spending" in run.stdout
    out = pl.read_csv(tmp_path / "a.csv")
    assert set(out["rule_source"]) == {"formula"}
    assert out["rule_why"].str.starts_with("the plan's formula").fill_null(True).all()
    plain = subprocess.run([*base, "--out", str(tmp_path / "b.csv")],
                           capture_output=True, text=True, env=env, timeout=900)  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert "compiled" not in plain.stdout
    assert set(pl.read_csv(tmp_path / "b.csv")["rule_source"]) <= {"model", "cache"}
