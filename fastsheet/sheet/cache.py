"""Persistent SQLite result cache keyed by content hashes.

A key hashes the model's identity, the prompt-template version, the rule and the
row's record text, so changing any of them can never return a stale answer. A
corrupt file is set aside with a warning and a fresh one started.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from fastsheet.backends.prompts import TEMPLATE_VERSION
from fastsheet.data.cells import Answer
from fastsheet.kinds.rules import Rule

log = logging.getLogger(__name__)

# Ordered migrations: index i brings the schema from user_version i to i + 1.
MIGRATIONS = (
    """
    CREATE TABLE answer (
        key BLOB PRIMARY KEY,
        value TEXT,
        value_kind TEXT NOT NULL,
        p REAL,
        probs TEXT NOT NULL,
        created REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # rules with any row answered: a new rule's cache sweep is skipped without a lookup
    """
    CREATE TABLE rule_seen (prefix BLOB PRIMARY KEY) WITHOUT ROWID;
    """,
    # the model's state where it answered (float16), for heads learned from labels
    """
    ALTER TABLE answer ADD COLUMN state BLOB;
    """,
)

_LOOKUP_CHUNK = 900  # below SQLite's default limit on host parameters


def rule_key_prefix(model_identity: str, rule: Rule, framing: str = "") -> bytes:
    """The part of a key shared by every row of one rule (under one prompt framing)."""
    parts = (model_identity, TEMPLATE_VERSION, framing, rule.identity())
    return "\0".join(parts).encode() + b"\0"


def cache_key(prefix: bytes, record: str) -> bytes:
    return hashlib.sha256(prefix + record.encode()).digest()


class ResultCache:
    """Answers by key. Each thread that uses it opens and owns its own connection to the
    file (SQLite's same-thread check stays on); `close` closes the calling thread's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warning: str | None = None
        self._local = threading.local()
        self._local.db = self._open()  # here: a corrupt file is set aside before any use

    @property
    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            self.warning = (
                f"The result cache {self.path} was unreadable ({exc}); it was moved to "
                f"{aside.name} and a new cache started. Results will be recomputed."
            )
            log.warning(self.warning)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise sqlite3.DatabaseError(
                    f"schema version {version} is newer than this fastsheet"
                )
            for i in range(version, len(MIGRATIONS)):
                db.executescript(f"BEGIN; {MIGRATIONS[i]} PRAGMA user_version = {i + 1}; COMMIT;")
            db.execute("SELECT count(*) FROM answer LIMIT 1").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, Answer]:
        found: dict[bytes, Answer] = {}
        db = self._db
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT key, value, value_kind, p, probs, state FROM answer WHERE key IN ({marks})",
                chunk,
            ).fetchall()
            for key, value, value_kind, p, probs, state in rows:
                found[key] = Answer(
                    _decode(value, value_kind),
                    p,
                    tuple(json.loads(probs)),
                    None if state is None else np.frombuffer(state, dtype=np.float16),
                )
        return found

    def has_rule(self, prefix: bytes) -> bool:
        """Whether rows were ever answered under this rule prefix (see put_many)."""
        found = self._db.execute(
            "SELECT 1 FROM rule_seen WHERE prefix = ?", (_prefix_id(prefix),)
        ).fetchone()
        return found is not None

    def put_many(self, items: Iterable[tuple[bytes, Answer]], rule: bytes | None = None) -> None:
        """Store answers; `rule` (a key prefix) marks them as rows of that rule."""
        now = time.time()
        rows = [
            (
                key,
                None if a.value is None else str(a.value),
                _kind(a.value),
                a.p,
                json.dumps(a.probs),
                now,
                None if a.state is None else np.asarray(a.state, dtype=np.float16).tobytes(),
            )
            for key, a in items
        ]
        if not rows:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")  # another thread's connection may be writing: wait
        try:
            db.executemany("INSERT OR REPLACE INTO answer VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            if rule is not None:
                db.execute("INSERT OR IGNORE INTO rule_seen VALUES (?)", (_prefix_id(rule),))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM answer").fetchone()[0]

    def close(self) -> None:
        """Close the calling thread's connection (a later use opens a new one)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            self._local.db = None
            db.close()


class NoCache(ResultCache):
    """A cache that remembers nothing (`--no-cache`)."""

    def __init__(self) -> None:
        self.path = Path("/dev/null")
        self.warning = None

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, Answer]:
        return {}

    def put_many(self, items: Iterable[tuple[bytes, Answer]], rule: bytes | None = None) -> None:
        return None

    def has_rule(self, prefix: bytes) -> bool:
        return False

    def __len__(self) -> int:
        return 0

    def close(self) -> None:
        return None


def _prefix_id(prefix: bytes) -> bytes:
    return hashlib.sha256(prefix).digest()


def _kind(value: object) -> str:
    if value is None:
        return "none"
    return "float" if isinstance(value, float) else "str"


def _decode(value: str | None, kind: str) -> str | float | None:
    if kind == "none" or value is None:
        return None
    return float(value) if kind == "float" else value
