"""Project files: per-rule labels (gold column, marks, threshold), the first format, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fastsheet.errors import DataError
from fastsheet.labels import label_array, marks_column, teaching_rows
from fastsheet.project import Project, load_project, save_project
from fastsheet.rules import Kind, Rule


def test_rule_labels_marks_and_threshold_survive_a_round_trip(tmp_path: Path):
    rules = [
        Rule("The email is spam.", name="spam", gold="is_spam", extra={"note": "x"}),
        Rule("Topic?", name="topic", kind=Kind.LABEL, labels=("a", "b"), descriptions=("x", "")),
    ]
    project = Project(
        data=tmp_path / "d.csv",
        rules=rules,
        marks={"spam": {3: True, 7: False}, "topic": {1: "b"}},
        thresholds={"spam": 0.25},
    )
    save_project(project, tmp_path / "p.fastsheet")
    loaded = load_project(tmp_path / "p.fastsheet")
    assert loaded.rules == rules
    assert loaded.marks == {"spam": {3: True, 7: False}, "topic": {1: "b"}}
    assert loaded.thresholds == {"spam": 0.25}
    assert loaded.data == (tmp_path / "d.csv").resolve()


def test_a_first_format_project_gives_its_gold_column_to_every_rule(tmp_path: Path):
    path = tmp_path / "old.fastsheet"
    path.write_text(
        json.dumps(
            {
                "fastsheet": 1,
                "data": "d.csv",
                "gold": "fraud",
                "rules": [{"name": "r", "text": "x"}, {"name": "s", "text": "y"}],
            }
        )
    )
    loaded = load_project(path)
    assert [r.gold for r in loaded.rules] == ["fraud", "fraud"]


@pytest.mark.parametrize(
    "rule",
    [
        {"name": "r", "text": "x", "marks": "nope"},
        {"name": "r", "text": "x", "marks": {"a": True}},
        {"name": "r", "text": "x", "gold": 5},
        {"name": "r", "text": "x", "extra": [1]},
    ],
)
def test_malformed_labels_are_a_clear_error(tmp_path: Path, rule: dict):
    path = tmp_path / "bad.fastsheet"
    path.write_text(json.dumps({"fastsheet": 2, "data": "d.csv", "rules": [rule]}))
    with pytest.raises(DataError, match=r"bad\.fastsheet"):
        load_project(path)


def test_label_array_overlays_marks_on_the_gold_column():
    frame = pl.DataFrame({"g": ["yes", "", "no", "yes"]})
    rule = Rule("x", gold="g")
    labels = label_array(rule, frame, {1: True, 3: False})
    assert labels.tolist()[:1] == [1.0] and labels[1] == 1.0 and labels[2] == 0.0
    assert labels[3] == 0.0  # the mark wins over the column
    assert label_array(Rule("x", kind=Kind.TEXT), frame) is None
    assert np.isnan(label_array(Rule("x"), frame)).all()  # no gold, no marks


def test_teaching_rows_take_classes_in_turn_up_to_the_limit():
    labels = np.full(1000, np.nan)
    labels[:900] = 0.0
    labels[900:910] = 1.0
    rows = teaching_rows(labels, limit=20)
    assert len(rows) == 20
    assert sum(labels[r] == 1.0 for r in rows) == 10  # every rare positive is kept


def test_marks_column_exports_the_marked_answers():
    column = marks_column(Rule("x", name="flag"), {0: True, 2: False}, 3)
    assert column.name == "flag_gold" and column.to_list() == [True, None, False]
