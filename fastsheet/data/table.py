"""Load and save datasets with polars; turn rows into compact record text.

Row ids are positions in the loaded frame: stable for the life of the sheet,
whatever the view's sort or filter.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import polars as pl

from fastsheet.data import encoding
from fastsheet.data.errors import DataError

log = logging.getLogger(__name__)

READ_SUFFIXES = {
    ".csv": "CSV",
    ".tsv": "TSV",
    ".tab": "TSV",
    ".txt": "CSV/TSV",
    ".parquet": "Parquet",
    ".pq": "Parquet",
    ".json": "JSON",
    ".ndjson": "NDJSON",
    ".jsonl": "NDJSON",
    ".arrow": "Arrow IPC",
    ".feather": "Feather",
    ".ipc": "Arrow IPC",
    ".xlsx": "Excel",
}
WRITE_SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".ndjson", ".jsonl", ".arrow", ".feather")

MAX_CELL_CHARS = 400
TRUNCATION_MARKER = "…"


def supported_formats() -> str:
    return ", ".join(sorted(set(READ_SUFFIXES)))


def load_table(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a data file by its suffix; raise DataError with a clear message on any problem."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"No such file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file.")
    suffix = path.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise DataError(
            f"Cannot read {path.name}: unknown file type {suffix or '(none)'}. "
            f"Supported: {supported_formats()}."
        )
    kind = READ_SUFFIXES[suffix]
    try:
        if suffix in (".csv", ".tsv", ".tab", ".txt"):
            frame = _read_delimited(path, suffix)
        elif suffix in (".parquet", ".pq"):
            frame = pl.read_parquet(path)
        elif suffix == ".json":
            frame = pl.read_json(path)
        elif suffix in (".ndjson", ".jsonl"):
            frame = pl.read_ndjson(path)
        elif suffix in (".arrow", ".feather", ".ipc"):
            frame = pl.read_ipc(path)
        else:
            frame = pl.read_excel(path, engine="calamine")
    except DataError:
        raise
    except Exception as exc:  # polars raises many types; all mean "unreadable"
        raise DataError(f"Cannot read {path.name} as {kind}: {_first_line(exc)}") from exc
    if frame.width == 0:
        raise DataError(f"{path.name} has no columns.")
    log.info("loaded %s: %d rows x %d columns", path.name, frame.height, frame.width)
    return frame


def _read_delimited(path: Path, suffix: str) -> pl.DataFrame:
    with path.open("rb") as f:
        head = f.read(encoding.SAMPLE_BYTES)
    if not head.strip():
        raise DataError(f"{path.name} is empty.")
    assumed = encoding.detect(head, path.name)
    source: Path | io.BytesIO = path
    if assumed != encoding.UTF8:
        data = encoding.utf8_bytes(path, assumed)
        head, source = data[: encoding.SAMPLE_BYTES], io.BytesIO(data)
        log.info("%s: %s", path.name, encoding.describe(assumed) or assumed)
    separator = "\t" if suffix in (".tsv", ".tab") else _sniff_separator(head)
    try:
        frame = _parse_csv(source, separator)
    except pl.exceptions.ComputeError as exc:
        message = _first_line(exc)
        if "invalid utf-8" in message.lower() and source is path:
            # UTF-8 at the start, something else later on: decide on the whole file
            with path.open("rb") as f:
                whole = f.read()
            return _parse_csv(
                io.BytesIO(encoding.utf8_bytes(path, encoding.detect(whole, path.name))), separator
            )
        raise DataError(
            f"{path.name} is not a well-formed {'TSV' if separator == chr(9) else 'CSV'} file "
            f"(separator {separator!r}): {message}. Check that every row has the same number "
            "of fields and that quotes are closed."
        ) from exc
    return frame


def _parse_csv(source: Path | io.BytesIO, separator: str) -> pl.DataFrame:
    return pl.read_csv(
        source, separator=separator, infer_schema_length=10_000, truncate_ragged_lines=False
    )


def _sniff_separator(head: bytes) -> str:
    sample = head.decode("utf-8", errors="ignore")
    lines = sample.splitlines()[:20]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def save_table(frame: pl.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write by suffix, atomically: an existing file is replaced only by a complete one."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise DataError(f"Cannot write {path.name}: use one of {', '.join(WRITE_SUFFIXES)}.")

    def write(tmp_name: str) -> None:
        if suffix in (".csv", ".tsv"):
            frame.write_csv(tmp_name, separator="\t" if suffix == ".tsv" else ",")
        elif suffix == ".parquet":
            frame.write_parquet(tmp_name)
        elif suffix == ".json":
            frame.write_json(tmp_name)
        elif suffix in (".ndjson", ".jsonl"):
            frame.write_ndjson(tmp_name)
        else:
            frame.write_ipc(tmp_name)

    atomic_write(path, write)


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call `write` on a temporary file beside `path`, then move it into place."""
    if not path.parent.exists():
        raise DataError(f"Folder {path.parent} does not exist.")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def record_columns(
    frame_columns: Sequence[str], references: Sequence[str], exclude: Iterable[str] = ()
) -> list[str]:
    """The columns a record shows: the referenced ones, or every column not excluded."""
    if references:
        return list(references)
    excluded = set(exclude)
    return [c for c in frame_columns if c not in excluded]


def _nested_text(value: object) -> str:
    """A deeper nested value (a list of structs, …) as JSON text."""
    if isinstance(value, pl.Series):
        value = value.to_list()
    return json.dumps(value, ensure_ascii=False, default=str)


def _nested_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """A nested column (list, struct, object) as readable text."""
    col = pl.col(name)
    if isinstance(dtype, pl.Struct):
        return col.struct.json_encode()  # {"k":1,"v":"a"}
    if isinstance(dtype, pl.List | pl.Array) and not dtype.inner.is_nested():
        text = col.cast(pl.List(dtype.inner)).list.eval(pl.element().cast(pl.String))
        return text.list.join(", ")  # x, y
    return col.map_elements(_nested_text, return_dtype=pl.String)


def nested_as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with nested columns as text, for formats that hold only flat cells."""
    nested = [
        _nested_expr(name, dtype).alias(name)
        for name, dtype in frame.schema.items()
        if dtype.is_nested() or dtype == pl.Object
    ]
    return frame.with_columns(nested) if nested else frame


def _cell_text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_nested() or dtype == pl.Object:
        text = _nested_expr(name, dtype)
    elif dtype == pl.String:
        text = col
    else:
        text = col.cast(pl.String)
    text = text.fill_null("").str.replace_all(r"\s*[\r\n]+\s*", " ")
    length = text.str.len_chars()
    return (
        pl.when(length > MAX_CELL_CHARS)
        .then(
            pl.concat_str(
                text.str.slice(0, MAX_CELL_CHARS),
                pl.lit(f"{TRUNCATION_MARKER}[+"),
                (length - MAX_CELL_CHARS).cast(pl.String),
                pl.lit(" chars]"),
            )
        )
        .otherwise(text)
    )


def records(
    frame: pl.DataFrame, columns: Sequence[str], rows: Sequence[int] | None = None
) -> list[str]:
    """Record text for the given row ids: one `column: value` line per column."""
    part = frame if rows is None else frame[list(rows)]
    if not columns:
        return [""] * part.height
    schema = part.schema
    pieces: list[pl.Expr] = []
    for i, name in enumerate(columns):
        prefix = ("\n" if i else "") + f"{name}: "
        pieces += [pl.lit(prefix), _cell_text(name, schema[name])]
    return part.select(pl.concat_str(pieces).alias("record"))["record"].to_list()


def column_types(frame: pl.DataFrame) -> dict[str, str]:
    """A short type name per column, for headers and listings."""
    return {name: _short_type(dtype) for name, dtype in frame.schema.items()}


def _short_type(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_temporal():
        return "date" if dtype == pl.Date else "time"
    if dtype == pl.String or dtype == pl.Categorical or dtype == pl.Enum:
        return "text"
    return str(dtype).lower()
