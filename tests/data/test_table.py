from pathlib import Path

import polars as pl
import pytest

from fastsheet.data.encoding import file_note
from fastsheet.data.errors import DataError
from fastsheet.data.table import (
    MAX_CELL_CHARS,
    column_types,
    load_table,
    record_columns,
    records,
    save_table,
)

FRAME = pl.DataFrame(
    {
        "merchant": ["Tesco", "Shell", None],
        "amount": [12.5, 80.0, 3.2],
        "category": ["groceries", "fuel", "coffee"],
    }
)


@pytest.mark.parametrize(
    "suffix", [".csv", ".tsv", ".parquet", ".json", ".ndjson", ".jsonl", ".arrow", ".feather"]
)
def test_round_trip_every_format(tmp_path: Path, suffix: str):
    path = tmp_path / f"data{suffix}"
    save_table(FRAME, path)
    loaded = load_table(path)
    assert loaded.columns == FRAME.columns
    assert loaded["merchant"].to_list() == ["Tesco", "Shell", None]
    assert loaded["amount"].to_list() == [12.5, 80.0, 3.2]


def test_excel(tmp_path: Path):
    path = tmp_path / "data.xlsx"
    FRAME.write_excel(path)
    loaded = load_table(path)
    assert loaded["category"].to_list() == ["groceries", "fuel", "coffee"]


def test_semicolon_delimiter_is_detected(tmp_path: Path):
    path = tmp_path / "semi.csv"
    path.write_text("name;amount\nTesco;12\nShell;80\n")
    assert load_table(path).columns == ["name", "amount"]


def test_malformed_csv_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text('a,b\n1,2\n3,"unclosed\n4,5,6,7\n')
    with pytest.raises(DataError, match="not a well-formed CSV"):
        load_table(path)


ROWS = [
    ("José Müller", "Zürich", "Café crème à côté"),
    ("François Dupont", "Genève", "naïve façade, 12€"),
    ("Åsa Øberg", "Malmö", "smörgåsbord"),
]


@pytest.mark.parametrize(
    ("codec", "note"),
    [
        ("cp1252", "read as cp1252 (not UTF-8)"),  # Excel's "CSV" on Windows
        ("latin-1", "read as cp1252 (not UTF-8)"),  # the same bytes for these letters
        ("utf-16", "read as utf-16 (not UTF-8)"),  # with its BOM
        ("utf-8-sig", None),  # Excel's "CSV UTF-8": a BOM, no note
    ],
)
def test_files_people_have_open_in_their_encoding(tmp_path: Path, codec: str, note: str | None):
    text = "name,city,note\n" + "".join(f'{a},{b},"{c}"\n' for a, b, c in ROWS)
    if codec == "latin-1":
        text = text.replace("€", "EUR")
    path = tmp_path / "people.csv"
    path.write_bytes(text.encode(codec))
    frame = load_table(path)
    assert frame.columns == ["name", "city", "note"]
    assert frame["city"].to_list() == ["Zürich", "Genève", "Malmö"]
    assert frame["note"][0] == "Café crème à côté"
    assert file_note(path) == note


def test_other_code_pages_are_recognised(tmp_path: Path):
    cities = ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Нижний Новгород"]
    notes = "Клиент просит вернуть деньги за заказ: товар пришёл повреждённым"
    path = tmp_path / "cp1251.csv"
    text = "город,заметка\n" + "".join(f"{c},{notes} ({i})\n" for i, c in enumerate(cities))
    path.write_bytes(text.encode("cp1251"))
    assert load_table(path)["город"].to_list() == cities
    assert file_note(path) == "read as cp1251 (not UTF-8)"


def test_non_utf8_after_the_first_block_is_still_read(tmp_path: Path):
    path = tmp_path / "late.csv"
    body = "".join(f"row {i},plain\n" for i in range(20_000))
    path.write_bytes(("name,city\n" + body + "José,Málaga\n").encode("cp1252"))
    frame = load_table(path)
    assert frame["name"][-1] == "José" and frame.height == 20_001


def test_bytes_that_are_no_text_are_a_clear_error(tmp_path: Path):
    path = tmp_path / "binary.csv"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(DataError, match=r"binary.csv .*(not text|Save it as CSV UTF-8)"):
        load_table(path)


def test_missing_unknown_and_empty_files(tmp_path: Path):
    with pytest.raises(DataError, match="No such file"):
        load_table(tmp_path / "nope.csv")
    (tmp_path / "data.xyz").write_text("x")
    with pytest.raises(DataError, match=r"unknown file type \.xyz"):
        load_table(tmp_path / "data.xyz")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_table(tmp_path / "empty.csv")
    (tmp_path / "broken.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="as Parquet"):
        load_table(tmp_path / "broken.parquet")


def test_records_show_columns_with_null_as_empty():
    out = records(FRAME, ["merchant", "amount"])
    assert out == [
        "merchant: Tesco\namount: 12.5",
        "merchant: Shell\namount: 80.0",
        "merchant: \namount: 3.2",
    ]
    assert records(FRAME, ["category"], rows=[2, 0]) == ["category: coffee", "category: groceries"]


def test_long_cells_are_truncated_with_a_marker():
    long = pl.DataFrame({"text": ["x" * (MAX_CELL_CHARS + 50)], "n": [1]})
    (out,) = records(long, ["text"])
    assert out.startswith("text: " + "x" * MAX_CELL_CHARS)
    assert out.endswith("…[+50 chars]")


def test_newlines_inside_cells_do_not_break_lines():
    frame = pl.DataFrame({"a": ["one\ntwo"], "b": [1]})
    assert records(frame, ["a", "b"]) == ["a: one two\nb: 1"]


def test_record_columns_default_and_references():
    cols = ["review", "source", "gold", "rule", "rule_p"]
    assert record_columns(cols, [], exclude=["gold", "rule", "rule_p"]) == ["review", "source"]
    assert record_columns(cols, ["source"], exclude=["gold"]) == ["source"]


def test_column_types():
    assert column_types(FRAME) == {"merchant": "text", "amount": "float", "category": "text"}


def test_save_is_atomic_and_rejects_unknown_suffix(tmp_path: Path):
    path = tmp_path / "out.csv"
    path.write_text("precious")
    with pytest.raises(DataError):
        save_table(FRAME, tmp_path / "out.docx")
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_million_rows_load_and_records_slice(tmp_path: Path):
    path = tmp_path / "big.csv"
    n = 1_000_000
    pl.DataFrame({"id": range(n), "text": ["row"] * n}).write_csv(path)
    frame = load_table(path)
    assert frame.height == n
    assert records(frame, ["id", "text"], rows=[999_999]) == ["id: 999999\ntext: row"]


def test_wide_duplicate_named_and_nested_files_open(tmp_path: Path):
    wide = tmp_path / "wide.csv"
    wide.write_text(
        ",".join(f"c{i}" for i in range(2000)) + "\n" + ",".join(map(str, range(2000))) + "\n"
    )
    assert load_table(wide).shape == (1, 2000)
    dup = tmp_path / "dup.csv"
    dup.write_text("a,b,a\n1,2,3\n")
    names = load_table(dup).columns
    assert len(set(names)) == 3 and names[:2] == ["a", "b"]  # the second "a" is renamed
    nested = tmp_path / "nested.parquet"
    pl.DataFrame(
        {
            "id": [1, 2],
            "tags": [["x", "y"], None],
            "meta": [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}],
            "deep": [[{"a": 1}], [{"a": 2}, {"a": 3}]],
        }
    ).write_parquet(nested)
    frame = load_table(nested)
    assert records(frame, list(frame.columns), [0, 1]) == [
        'id: 1\ntags: x, y\nmeta: {"k":1,"v":"a"}\ndeep: [{"a": 1}]',
        'id: 2\ntags: \nmeta: {"k":2,"v":"b"}\ndeep: [{"a": 2}, {"a": 3}]',
    ]
