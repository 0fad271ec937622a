"""Property-based tests: any input gives a value or one of our errors, never a crash."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastsheet.data.errors import FastsheetError
from fastsheet.data.table import load_table, records
from fastsheet.files.project import load_project
from fastsheet.kinds.label import parse_labels
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.kinds.score import parse_scale

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SUFFIXES = [".csv", ".tsv", ".txt", ".json", ".ndjson", ".parquet", ".arrow", ".xlsx"]
cell = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


def _load(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"data{suffix}"
        path.write_bytes(data)
        try:
            frame = load_table(path)
        except FastsheetError as exc:
            assert str(exc).strip()  # a message to show
            return None
    records(frame, list(frame.columns)[:5], range(min(3, frame.height)))  # and it reads as text
    return frame


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from(SUFFIXES))
def test_random_bytes_load_or_give_our_error(data: bytes, suffix: str) -> None:
    _load(data, suffix)


@FUZZ
@given(
    rows=st.lists(st.lists(cell, min_size=1, max_size=5), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|", " "]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
    line=st.sampled_from(["\n", "\r\n"]),
)
def test_random_csv_dialects_load_or_give_our_error(rows, delimiter, quoting, encoding, line):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=line).writerows(rows)
    try:
        data = out.getvalue().encode(encoding)
    except UnicodeEncodeError:
        data = out.getvalue().encode("utf-8")
    _load(data, ".csv")


@FUZZ
@given(
    text=st.text(max_size=80),
    name=st.text(max_size=10),
    kind=st.sampled_from(list(Kind)),
    labels=st.text(max_size=30),
    scale=st.text(max_size=10),
    columns=st.lists(st.text(max_size=8), max_size=5),
)
def test_rules_parse_or_give_our_error(text, name, kind, labels, scale, columns) -> None:
    try:
        rule = Rule(
            text,
            name=name,
            kind=kind,
            labels=parse_labels(labels) if kind is Kind.LABEL else (),
            scale=parse_scale(scale) if kind is Kind.SCORE else (1, 5),
        )
        rule.check_columns(columns)
    except FastsheetError as exc:
        assert str(exc).strip()
        return
    assert set(rule.references()) <= set(columns)
    json.loads(rule.identity())


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
project_like = st.fixed_dictionaries(
    {},
    optional={
        "fastsheet": st.integers(-1, 3) | json_value,
        "data": st.text(max_size=20) | json_value,
        "model": json_value,
        "gold": json_value,
        "rules": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "text": st.text(max_size=20) | json_value,
                    "name": st.text(max_size=8) | json_value,
                    "kind": st.sampled_from(["flag", "label", "score", "text", "other"])
                    | json_value,
                    "labels": json_value,
                    "scale": json_value,
                    "max_tokens": json_value,
                    "extra": json_value,
                    "gold": json_value,
                    "marks": json_value,
                    "threshold": json_value,
                },
            ),
            max_size=3,
        )
        | json_value,
    },
)


@FUZZ
@given(st.one_of(project_like, json_value), st.binary(max_size=64), st.booleans())
def test_project_files_load_or_give_our_error(content, garbage, as_bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.fastsheet"
        if as_bytes:
            path.write_bytes(garbage)
        else:
            path.write_text(json.dumps(content), encoding="utf-8")
        try:
            project = load_project(path)
        except FastsheetError as exc:
            assert str(exc).strip()
            return
        assert isinstance(project.data, Path)
        for rule in project.rules:
            assert isinstance(rule, Rule)
