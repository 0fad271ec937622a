"""Which text encoding a delimited file is in: UTF-8 first, else what the bytes say.

A CSV saved by Excel on Windows is cp1252, not UTF-8; UTF-16 files carry a BOM.
`charset-normalizer` decides for anything that is not UTF-8.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from fastsheet.data.errors import DataError

SAMPLE_BYTES = 64 * 1024
UTF8 = "utf-8"
PREFERRED = "cp1252"  # among equally plausible code pages


def detect(head: bytes, name: str = "the file") -> str:
    """The encoding of a text file from its first bytes (a Python codec name)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode(UTF8)
        return UTF8
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # only a character cut at the sample's end
            return UTF8
    import charset_normalizer

    matches = charset_normalizer.from_bytes(head)
    best = matches.best()
    if best is None:
        raise DataError(
            f"{name} is not text in any encoding fastsheet recognises. "
            "Save it as CSV UTF-8 and open it again."
        )
    # a short file can fit several code pages exactly as well: Excel on Windows writes cp1252
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    if any(m.encoding == PREFERRED for m in tied):
        return PREFERRED
    return codecs.lookup(best.encoding).name


def describe(encoding: str) -> str | None:
    """A note for the status bar when the file was not plain UTF-8 (None when it was)."""
    name = codecs.lookup(encoding).name
    if name in (UTF8, "utf-8-sig"):
        return None
    return f"read as {name} (not UTF-8)"


def utf8_bytes(path: Path, encoding: str) -> bytes:
    """The whole file re-encoded as UTF-8; a clear error where it cannot be decoded."""
    data = path.read_bytes()
    try:
        return data.decode(encoding).encode(UTF8)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name} looks like {encoding}, but byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start} is not valid there. Save it as CSV UTF-8 and open it again."
        ) from exc


def file_note(path: Path) -> str | None:
    """What was assumed about a delimited file's encoding, for the status bar."""
    if path.suffix.lower() not in (".csv", ".tsv", ".tab", ".txt"):
        return None
    try:
        with path.open("rb") as f:
            head = f.read(SAMPLE_BYTES)
        return describe(detect(head, path.name))
    except (OSError, DataError):
        return None
