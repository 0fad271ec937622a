"""A sheet being worked on: the data, its rule columns, the engine, the project file.

What the desktop app drives, with no Qt in it. Opening a file validates everything
before replacing the current sheet, so a bad file never loses the rules on screen.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.backends.models import model_ref, resolve_model
from fastsheet.data.errors import DataError, RuleError
from fastsheet.data.table import load_table, save_table
from fastsheet.files.project import SUFFIX, AppState, Project, load_project, save_project
from fastsheet.files.workbook import RuleReport, write_workbook
from fastsheet.kinds import kind_of, polarity
from fastsheet.kinds.results import with_results
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.learning.labels import marks_column
from fastsheet.plans.split import Step
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import Evaluator
from fastsheet.stats.calibrate import Calibration

log = logging.getLogger(__name__)


class Session:
    """One open sheet. Call from the event-loop thread."""

    def __init__(
        self,
        backend: Backend,
        cache: ResultCache,
        state: AppState | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.state = state or AppState()
        self.loop = loop
        self.frame: pl.DataFrame | None = None
        self.project: Project | None = None
        self.evaluator: Evaluator | None = None
        self.order: list[str] = []  # rule column names, left to right
        self._nouns: dict[str, set[str]] = {}  # names a column was given by its nouns

    # ----- opening ------------------------------------------------------------------------

    def open(self, path: Path) -> None:
        """Open a data file or a `.fastsheet` project; the current sheet stays on failure."""
        self.install(*self.prepare(path))

    @staticmethod
    def prepare(path: Path) -> tuple[pl.DataFrame, Project, Path]:
        """Read and check everything (slow: run it off the event loop)."""
        path = Path(path)
        if path.suffix.lower() == SUFFIX:
            project = load_project(path)
            frame = load_table(project.data)
            for rule in project.rules:
                if rule.gold and rule.gold not in frame.columns:
                    raise DataError(
                        f"{path.name}: rule {rule.name!r} takes its labels from {rule.gold!r}, "
                        f"which is not a column of {project.data.name}."
                    )
                if rule.name in frame.columns:
                    raise DataError(f"{path.name}: rule {rule.name!r} has a data column's name.")
        else:
            frame = load_table(path)
            project = Project(data=path.resolve())
        return frame, project, path

    def install(self, frame: pl.DataFrame, project: Project, path: Path) -> None:
        """Make a prepared sheet the current one (on the event loop)."""
        self._replace(frame, project)
        self.state.add_recent(path.resolve())

    def _replace(self, frame: pl.DataFrame, project: Project) -> None:
        if self.evaluator is not None:
            self.evaluator.close()
        self.frame = frame
        self.project = project
        self.evaluator = Evaluator(frame, self.backend, self.cache, loop=self.loop)
        self.evaluator.marks = {k: dict(v) for k, v in project.marks.items()}
        self.evaluator.thresholds = dict(project.thresholds)
        self.order = []
        for rule in project.rules:
            self.order.append(rule.name)
            try:
                self.evaluator.set_rule(rule)
            except RuleError as exc:  # shown on the column; the rule text is kept
                log.warning("rule %s: %s", rule.name, exc)

    def set_backend(self, backend: Backend, reload: bool = True, ref: str | None = None) -> None:
        """Switch models: every column re-evaluates (earlier results stay cached).

        The project remembers the model, as `ref` if given (models.model_ref, which walks
        the tools' folders: the app computes it off the loop); without `reload` the
        current sheet is left as it is (a new one is about to be installed)."""
        old = self.backend
        self.backend = backend
        path = getattr(backend, "path", None)
        if self.project is not None and path is not None:
            self.project.model = ref or model_ref(path)
        if reload and self.frame is not None and self.project is not None:
            self._replace(self.frame, self._current_project())
        if old is not backend:
            old.close()

    def model_for(self, project: Project) -> Path | None:
        """The model file `project` asks for, when it is not the one in use (None: keep it).

        Raises ModelError when the project's model is not available here."""
        if not project.model:
            return None
        wanted = resolve_model(project.model)
        current = getattr(self.backend, "path", None)
        if current is not None and Path(current).resolve() == wanted.resolve():
            return None
        return wanted

    # ----- rule columns -------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        ev = self._ev()
        return [ev.columns[n].rule for n in self.order if n in ev.columns]

    def rule(self, name: str) -> Rule:
        return self._ev().columns[name].rule

    def implied(self, name: str) -> tuple[str, list[str]]:
        """The condition the formulas reading rule `name` put on it (`a and name` needs it
        only where a holds; "" if something needs every row), and those formulas."""
        ev = self._ev()
        column = ev.columns.get(name)
        if column is None or not column.implied:
            return "", []
        readers = [
            n
            for n, c in ev.columns.items()
            if not c.result.kind.judged and name in c.rule.dependencies()
        ]
        return column.implied, readers

    def add_rule(
        self, kind: Kind = Kind.FLAG, text: str | None = None, name: str | None = None
    ) -> Rule:
        column_kind = kind_of(kind)
        name = name or self.unique_name(column_kind.base_name)
        rule = column_kind.make(
            text or column_kind.default_text, name, column_kind.default_options, None
        )
        self.order.append(name)
        self.set_rule(rule)
        return rule

    def set_rule(self, rule: Rule) -> None:
        """Start a new generation; RuleError after the column keeps the text in error."""
        if rule.name not in self.order:
            self.order.append(rule.name)
        try:
            self._ev().set_rule(rule)
        finally:
            self._autosave()

    def apply_split(self, steps: Sequence[Step]) -> None:
        """Add a split's columns just before the rule's own, then make that column their
        combination (the last step). RuleError if a step does not check out: the rule's
        column is left as it was (columns already added stay, in error if invalid)."""
        *parts, combination = steps
        rules = [step.rule() for step in steps]  # raises before anything changes
        at = self.order.index(combination.name)
        for step in parts:
            if step.name in self._frame().columns or step.name in self._ev().columns:
                raise RuleError(f"A column is already called {step.name!r}: rename the step.")
        self.order[at:at] = [step.name for step in parts]
        for rule in rules:
            self.set_rule(rule)

    def edit(self, name: str, **changes: object) -> Rule:
        """Change a column's text, kind, labels or scale."""
        rule = replace(self.rule(name), **changes)  # type: ignore[arg-type]
        self.set_rule(rule)
        return rule

    def rename(self, old: str, new: str) -> None:
        new = new.strip()
        if not new or new == old:
            return
        frame = self._frame()
        if new in frame.columns or new in self._ev().columns:
            raise RuleError(f"A column is already called {new!r}.")
        self.order[self.order.index(old)] = new
        self._nouns.pop(old, None)
        try:
            self._ev().rename(old, new)
        finally:
            self._autosave()

    def name_by_noun(self, name: str) -> str:
        """Name a flag column by its rule's noun (`on_policy`, `shortlisted`, `flagged`)
        unless the user named it: only a column still called by its kind's or its previous
        noun, and read by no other column, is renamed. Returns the name it has now."""
        rule = self.rule(name)
        column_kind = kind_of(rule)
        if not column_kind.polar or self._ev().columns[name].error:
            return name  # a rule in error keeps its name until it is fixed
        wanted = polarity.column_name(rule.text)
        if re.fullmatch(rf"{re.escape(wanted)}(_\d+)?", name):
            return name
        automatic = {column_kind.base_name, *self._nouns.get(name, ())}
        if re.sub(r"_\d+$", "", name) not in automatic:
            return name
        if any(name in c.rule.dependencies() for c in self._ev().columns.values()):
            return name
        new = self.unique_name(wanted)
        self.rename(name, new)
        self._nouns[new] = {*automatic, wanted}
        return new

    def set_yes_means(self, name: str, yes_means: str) -> None:
        """Whether a flag's yes is a finding or the good outcome (the look, not the answers)."""
        self._ev().set_yes_means(name, yes_means)
        self._autosave()

    def set_learning(self, name: str, learn: bool) -> None:
        """Whether rule `name` learns its labels (learned.py) or is taught by them; the
        column starts again (its answers come back from the cache where they were judged)."""
        if self.rule(name).learn != learn:
            self.edit(name, learn=learn)

    def remove(self, name: str) -> None:
        self._ev().remove(name)
        self.order = [n for n in self.order if n != name]
        self._autosave()

    def move(self, name: str, delta: int) -> None:
        i = self.order.index(name)
        j = max(0, min(len(self.order) - 1, i + delta))
        self.order.insert(j, self.order.pop(i))
        self._autosave()

    def unique_name(self, base: str) -> str:
        taken = set(self._frame().columns) | set(self._ev().columns)
        if base not in taken:
            return base
        i = 2
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def set_gold(self, name: str, column: str | None) -> None:
        """Take rule `name`'s known answers from data column `column` (None: only marks)."""
        if column is not None and column not in self._frame().columns:
            raise DataError(f"Unknown gold column {column!r}.")
        self.edit(name, gold=column)

    def mark(self, name: str, row: int, value: object | None) -> None:
        """Record (or with None, forget) the right answer for one row of rule `name`."""
        marks = self.marks(name)
        if value is None:
            marks.pop(row, None)
        else:
            marks[row] = value
        self.set_marks(name, marks)

    def set_marks(self, name: str, marks: dict[int, object], teach: bool = True) -> None:
        """All of rule `name`'s marked rows at once; with `teach`, the rule is taught anew."""
        self._ev().set_marks(name, marks, teach=teach)
        self._autosave()

    def teach(self, name: str) -> None:
        """Teach rule `name` from its marks now (after marking with teach=False)."""
        self._ev().teach_again(name)

    def marks(self, name: str) -> dict[int, object]:
        """Rule `name`'s marked rows (empty when no sheet is open)."""
        if self.evaluator is None:
            return {}
        return dict(self.evaluator.marks.get(name, {}))

    def set_threshold(self, name: str, threshold: float | None, save: bool = True) -> None:
        """A flag threshold chosen by hand (None: the fitted one again); no model call."""
        self._ev().set_threshold(name, threshold)
        if save:
            self._autosave()

    # ----- files ------------------------------------------------------------------------------

    def export(self, path: Path) -> None:
        """The data plus every rule column (NAME, NAME_p): CSV, Parquet, … or Excel."""
        self.export_writer(path)()

    def export_writer(self, path: Path) -> Callable[[], None]:
        """A snapshot of the results now, and a function that writes it to `path`
        (safe to call on another thread: it touches no live state)."""
        frame = self.results_frame(source=True)
        if path.suffix.lower() == ".xlsx":
            reports = self.reports()
            return lambda: write_workbook(frame, path, reports)
        return lambda: save_table(frame, path)

    def results_frame(self, source: bool = False) -> pl.DataFrame:
        """The data with every rule column's answers and probabilities (and marks; with
        `source`, where each answer came from: model, cache or skipped)."""
        ev = self._ev()
        frame = self._frame()
        for name in self.order:
            column = ev.columns.get(name)
            if column is not None:
                frame = with_results(frame, column.result, column.calibration, source)
                marks = ev.marks.get(name)
                if marks:
                    frame = frame.with_columns(marks_column(column.rule, marks, frame.height))
        return frame

    def reports(self) -> list[RuleReport]:
        """Per rule column: its text, count, share, label counts and agreement."""
        ev = self._ev()
        reports = []
        for name in self.order:
            column = ev.columns.get(name)
            if column is None:
                continue
            if column.error:
                reports.append(RuleReport(column.rule, f"error: {column.error}"))
                continue
            reports.append(RuleReport.of(column.rule, ev.summary(name), ev.agreement(name)))
        return reports

    def save(self, path: Path) -> None:
        project = self._current_project()
        save_project(project, path)
        self.project = project
        self.state.add_recent(path.resolve())

    def _current_project(self) -> Project:
        p = self.project or Project(data=Path("data.csv"))
        ev = self._ev()
        names = set(self.order)
        return Project(
            data=p.data,
            rules=self.rules(),
            model=p.model,
            path=p.path,
            marks={k: dict(v) for k, v in ev.marks.items() if k in names and v},
            thresholds={k: v for k, v in ev.thresholds.items() if k in names},
        )

    def _autosave(self) -> None:
        if self.project is not None:
            self.state.autosave(self._current_project())

    def calibration(self, name: str) -> Calibration:
        return self._ev().columns[name].calibration

    def _ev(self) -> Evaluator:
        if self.evaluator is None:
            raise DataError("Open a data file first.")
        return self.evaluator

    def _frame(self) -> pl.DataFrame:
        if self.frame is None:
            raise DataError("Open a data file first.")
        return self.frame

    def close(self) -> None:
        if self.evaluator is not None:
            self.evaluator.close()
            self.evaluator = None
