"""`.fastsheet` projects: a JSON file naming the data, the rule columns, the gold column and model.

Also the app's small persistent state: recent files and the autosave of the open project.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastsheet.errors import DataError, FastsheetError, RuleError
from fastsheet.paths import cache_dir
from fastsheet.rules import Kind, Rule

log = logging.getLogger(__name__)

SUFFIX = ".fastsheet"
FORMAT_VERSION = 1
RECENT_LIMIT = 10


@dataclass
class Project:
    data: Path
    rules: list[Rule] = field(default_factory=list)
    gold: str | None = None
    model: str | None = None  # a path or catalogue name; None is the default
    path: Path | None = None  # where the project file lives, once saved

    def to_json(self) -> dict:
        base = self.path.parent if self.path else None
        data = str(_relative(self.data, base))
        return {
            "fastsheet": FORMAT_VERSION,
            "data": data,
            "gold": self.gold,
            "model": self.model,
            "rules": [
                {
                    "name": r.name,
                    "text": r.text,
                    "kind": r.kind.value,
                    "labels": list(r.labels),
                    "scale": list(r.scale),
                    "max_tokens": r.max_tokens,
                }
                for r in self.rules
            ],
        }


def _relative(path: Path, base: Path | None) -> Path:
    if base is None:
        return path
    try:
        return Path(os.path.relpath(path, base))
    except ValueError:  # another drive
        return path


def save_project(project: Project, path: Path) -> None:
    """Write atomically, with the data path relative to the project file."""
    project.path = path
    text = json.dumps(project.to_json(), indent=2, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.replace(tmp, path)


def load_project(path: Path) -> Project:
    """Read a project file; raise a clear FastsheetError when it is not one."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"No such project: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path.name} is not a fastsheet project (not valid JSON: {exc}).") from exc
    if not isinstance(raw, dict) or "data" not in raw:
        raise DataError(f"{path.name} is not a fastsheet project (no data file named).")
    if int(raw.get("fastsheet", 1)) > FORMAT_VERSION:
        raise DataError(f"{path.name} was saved by a newer fastsheet: update to open it.")
    data = Path(raw["data"])
    if not data.is_absolute():
        data = (path.parent / data).resolve()
    rules = []
    for item in raw.get("rules", []):
        try:
            rules.append(
                Rule(
                    text=item["text"],
                    name=item.get("name", "rule"),
                    kind=Kind(item.get("kind", "flag")),
                    labels=tuple(item.get("labels", ())),
                    scale=tuple(item.get("scale", (1, 5))),  # type: ignore[arg-type]
                    max_tokens=int(item.get("max_tokens", 48)),
                )
            )
        except (KeyError, ValueError, TypeError, RuleError) as exc:
            raise DataError(f"{path.name}: a rule column is malformed ({exc}).") from exc
    return Project(data=data, rules=rules, gold=raw.get("gold"), model=raw.get("model"), path=path)


class AppState:
    """Recent files and the autosave, in the user's cache folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or cache_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._recent_file = self.folder / "recent.json"

    @property
    def autosave_path(self) -> Path:
        return self.folder / f"autosave{SUFFIX}"

    def recent(self) -> list[Path]:
        try:
            items = json.loads(self._recent_file.read_text(encoding="utf-8"))
            return [Path(p) for p in items if Path(p).exists()]
        except (OSError, ValueError):
            return []

    def add_recent(self, path: Path) -> None:
        items = [p for p in self.recent() if p.resolve() != path.resolve()]
        items.insert(0, path.resolve())
        try:
            self._recent_file.write_text(json.dumps([str(p) for p in items[:RECENT_LIMIT]]))
        except OSError as exc:
            log.warning("could not remember recent files: %s", exc)

    def autosave(self, project: Project) -> None:
        try:
            keep = project.path
            save_project(project, self.autosave_path)
            project.path = keep
        except (OSError, FastsheetError) as exc:
            log.warning("autosave failed: %s", exc)
