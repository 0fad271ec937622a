"""Project files: per-rule labels (gold column, marks, threshold), the first format, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fastsheet.data.errors import DataError
from fastsheet.files.project import Project, load_project, save_project
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.learning.labels import label_array, marks_column, teaching_rows


def test_rule_labels_marks_and_threshold_survive_a_round_trip(tmp_path: Path):
    rules = [
        Rule("The email is spam.", name="spam", gold="is_spam", extra={"note": "x"}),
        Rule("Topic?", name="topic", kind=Kind.LABEL, labels=("a", "b"), descriptions=("x", "")),
        Rule("How good?", name="good", kind=Kind.SCORE, learn=True),
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


def test_teaching_rows_put_the_marked_first_in_the_order_they_were_marked():
    labels = np.full(200, np.nan)
    marked = [150, 3, 90, 40, 7, 120]  # the order the user marked them
    labels[marked] = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    labels[[10, 11]] = [1.0, 0.0]  # a gold column's, unmarked
    assert teaching_rows(labels, first=marked) == [*marked, 10, 11]
    # a new mark comes last: it never displaces the rows that teach first
    labels[1] = 1.0
    assert teaching_rows(labels, first=[*marked, 1])[:6] == marked
    # beyond the limit: classes in turn, still the marked first
    many = np.full(400, np.nan)
    order = list(np.random.default_rng(1).permutation(400)[:300])
    many[order] = np.arange(300) % 2
    rows = teaching_rows(many, limit=64, first=order)
    assert rows == order[:64]


def test_marks_keep_the_order_they_were_marked_in_a_project(tmp_path: Path):
    project = Project(data=tmp_path / "d.csv", rules=[Rule("x", name="r")])
    project.marks = {"r": {9: True, 2: False, 5: True}}
    save_project(project, tmp_path / "p.json")
    assert list(load_project(tmp_path / "p.json").marks["r"]) == [9, 2, 5]


def test_marks_column_exports_the_marked_answers():
    column = marks_column(Rule("x", name="flag"), {0: True, 2: False}, 3)
    assert column.name == "flag_gold" and column.to_list() == [True, None, False]
