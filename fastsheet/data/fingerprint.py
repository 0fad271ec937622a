"""A file's sha256, computed once and remembered by path, size and mtime."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path

from fastsheet.data.paths import cache_dir

log = logging.getLogger(__name__)

_memo: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_identity(path: Path, store: Path | None = None) -> str:
    """sha256 of `path`, memoised in memory and in a small SQLite file."""
    path = path.resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key in _memo:
        return _memo[key]
    store = store or cache_dir() / "fingerprints.sqlite"
    digest = _lookup(store, key)
    if digest is None:
        log.info("hashing %s (once)", path.name)
        digest = sha256_file(path)
        _remember(store, key, digest)
    _memo[key] = digest
    return digest


def _connect(store: Path) -> sqlite3.Connection:
    store.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(store)
    db.execute(
        "CREATE TABLE IF NOT EXISTS fingerprint "
        "(path TEXT, size INTEGER, mtime_ns INTEGER, sha256 TEXT, PRIMARY KEY (path, size, mtime_ns))"
    )
    return db


def _lookup(store: Path, key: tuple[str, int, int]) -> str | None:
    try:
        with _connect(store) as db:
            row = db.execute(
                "SELECT sha256 FROM fingerprint WHERE path=? AND size=? AND mtime_ns=?", key
            ).fetchone()
        return row[0] if row else None
    except sqlite3.Error as exc:  # a broken memo only costs a re-hash
        log.warning("fingerprint memo unreadable (%s); hashing again", exc)
        return None


def _remember(store: Path, key: tuple[str, int, int], digest: str) -> None:
    try:
        with _connect(store) as db:
            db.execute("INSERT OR REPLACE INTO fingerprint VALUES (?, ?, ?, ?)", (*key, digest))
    except sqlite3.Error as exc:
        log.warning("could not remember fingerprint: %s", exc)
