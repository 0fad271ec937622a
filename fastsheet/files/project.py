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

from fastsheet.data.errors import DataError, FastsheetError, RuleError
from fastsheet.data.paths import cache_dir
from fastsheet.kinds.rules import Kind, Rule

log = logging.getLogger(__name__)

SUFFIX = ".fastsheet"
FORMAT_VERSION = (
    3  # 2: labels belong to each rule (gold, marks, threshold); 3: formulas, conditions
)
RECENT_LIMIT = 10
LAYOUT_LIMIT = 200  # projects whose window layout is remembered


@dataclass
class Project:
    data: Path
    rules: list[Rule] = field(default_factory=list)
    model: str | None = None  # a path or catalogue name; None is the default
    path: Path | None = None  # where the project file lives, once saved
    marks: dict[str, dict[int, object]] = field(default_factory=dict)  # rule -> row -> answer
    thresholds: dict[str, float] = field(default_factory=dict)  # rule -> threshold set by hand

    def to_json(self) -> dict:
        base = self.path.parent if self.path else None
        data = str(_relative(self.data, base))
        return {
            "fastsheet": FORMAT_VERSION,
            "data": data,
            "model": self.model,
            "rules": [
                {
                    "name": r.name,
                    "text": r.text,
                    "kind": r.kind.value,
                    "labels": list(r.labels),
                    **({"descriptions": list(r.descriptions)} if r.descriptions else {}),
                    "scale": list(r.scale),
                    "max_tokens": r.max_tokens,
                    "extra": dict(r.extra),
                    "gold": r.gold,
                    "where": r.where,
                    **({"yes_means": r.yes_means} if r.yes_means else {}),
                    **({"learn": True} if r.learn else {}),
                    # in the order they were marked: the first teach as examples
                    "marks": {str(k): v for k, v in self.marks.get(r.name, {}).items()},
                    "threshold": self.thresholds.get(r.name),
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
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), str) or not raw["data"]:
        raise DataError(f"{path.name} is not a fastsheet project (no data file named).")
    version = raw.get("fastsheet", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise DataError(f"{path.name} is not a fastsheet project (bad format version).")
    if version > FORMAT_VERSION:
        raise DataError(f"{path.name} was saved by a newer fastsheet: update to open it.")
    rules = raw.get("rules", [])
    model = raw.get("model")
    if not isinstance(rules, list) or not (model is None or isinstance(model, str)):
        raise DataError(f"{path.name} is malformed: its rules or model are not readable.")
    data = Path(raw["data"])
    if not data.is_absolute():
        data = (path.parent / data).resolve()
    legacy_gold = raw.get("gold")  # format 1: one gold column for every rule
    project = Project(data=data, model=model, path=path)
    for item in rules:
        try:
            rule = Rule(
                text=item["text"],
                name=item.get("name", "rule"),
                kind=Kind(item.get("kind", "flag")),
                labels=tuple(item.get("labels", ())),
                descriptions=tuple(str(d) for d in item.get("descriptions", ())),
                scale=tuple(item.get("scale", (1, 5))),  # type: ignore[arg-type]
                max_tokens=int(item.get("max_tokens", 48)),
                extra={str(k): str(v) for k, v in dict(item.get("extra") or {}).items()},
                gold=item.get("gold", legacy_gold if "gold" not in item else None),
                where=str(item.get("where") or ""),
                yes_means=str(item.get("yes_means") or ""),
                learn=item.get("learn") is True,
            )
            marks = {int(k): v for k, v in dict(item.get("marks") or {}).items()}
            threshold = item.get("threshold")
        except (KeyError, ValueError, TypeError, AttributeError, RuleError) as exc:
            raise DataError(f"{path.name}: a rule column is malformed ({exc}).") from exc
        if rule.gold is not None and not isinstance(rule.gold, str):
            raise DataError(f"{path.name}: rule {rule.name!r} has a malformed gold column.")
        project.rules.append(rule)
        if marks:
            project.marks[rule.name] = marks
        if isinstance(threshold, int | float) and 0 < threshold < 1:
            project.thresholds[rule.name] = float(threshold)
    return project


class AppState:
    """Recent files, window layouts and the autosave, in the user's cache folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or cache_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._recent_file = self.folder / "recent.json"
        self._layout_file = self.folder / "layouts.json"

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

    def layout(self, key: Path) -> dict:
        """How the window was arranged for this project or file (empty if never saved)."""
        entry = self._layouts().get(str(key.resolve()))
        return entry if isinstance(entry, dict) else {}

    def set_layout(self, key: Path, layout: dict) -> None:
        layouts = self._layouts()
        layouts.pop(str(key.resolve()), None)
        layouts[str(key.resolve())] = layout  # newest last; the oldest are dropped
        kept = dict(list(layouts.items())[-LAYOUT_LIMIT:])
        try:
            self._layout_file.write_text(json.dumps(kept), encoding="utf-8")
        except OSError as exc:
            log.warning("could not remember the window layout: %s", exc)

    def _layouts(self) -> dict:
        try:
            data = json.loads(self._layout_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def last_server(self, protocol: str = "openai") -> dict:
        """The server of that protocol last used (url, model, concurrency), to fill in the
        Model dialog. Never used to connect on its own; never holds an API key."""
        try:
            text = (self.folder / _server_file(protocol)).read_text(encoding="utf-8")
            data = json.loads(text)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def remember_server(
        self, url: str, model: str | None, concurrency: int, protocol: str = "openai"
    ) -> None:
        entry = {"url": url, "model": model, "concurrency": concurrency}
        try:
            (self.folder / _server_file(protocol)).write_text(json.dumps(entry), encoding="utf-8")
        except OSError as exc:
            log.warning("could not remember the server: %s", exc)

    def autosave(self, project: Project) -> None:
        try:
            keep = project.path
            save_project(project, self.autosave_path)
            project.path = keep
        except (OSError, FastsheetError) as exc:
            log.warning("autosave failed: %s", exc)


def _server_file(protocol: str) -> str:
    return "server.json" if protocol == "openai" else f"server-{protocol}.json"
