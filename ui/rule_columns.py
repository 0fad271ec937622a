"""Rule columns in the window: select, add, edit, rename, delete, move, and where each
rule's known answers come from."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtWidgets import QHeaderView, QInputDialog, QMenu

from fastsheet.data.errors import FastsheetError, RuleError
from fastsheet.kinds import kind_of, polarity
from fastsheet.kinds.rules import Kind, Rule
from ui.label_next_bar import LEARN_TIP

MARKS_ONLY = "(only rows I mark)"


class RuleColumns:
    """A part of MainWindow (mixed in; uses its session, grid, formula bar and panels)."""

    def selected_rule(self) -> str | None:
        return self._selected if self.session and self._selected in self.session.order else None

    def _select(self, name: str | None) -> None:
        self._selected = name
        if name is None or self.session is None or name not in self.session.order:
            self.formula.set_rule(None)
        else:
            column = self.session.evaluator.columns.get(name)
            self.formula.set_rule(self.session.rule(name), column.error if column else None)
            self.formula.show_asked(self.session.rule(name), self.session.backend.framing)
            self.formula.show_implied(self.session.implied(name))
        self._fill_labels_choice()
        self._refresh_panels()

    def _fill_labels_choice(self) -> None:
        """The Labels picker shows the selected rule's source of known answers."""
        name = self.selected_rule()
        self.gold.blockSignals(True)
        self.gold.clear()
        if name is not None and self.session.frame is not None:
            self.gold.addItem(MARKS_ONLY)
            self.gold.addItems(self.session.frame.columns)
            self.gold.setCurrentText(self.session.rule(name).gold or MARKS_ONLY)
        self.gold.setEnabled(name is not None)
        self.gold.blockSignals(False)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.model.is_rule_column(current.column()):
            name = self.model.column_name(current.column())
            if name != self._selected:
                self._select(name)

    def add_rule(self, kind: Kind = Kind.FLAG) -> None:
        if self.session is None or self.session.frame is None:
            return
        try:
            rule = self.session.add_rule(kind)
        except RuleError as exc:
            self.show_error(str(exc))
            return
        self._columns_changed()
        self._select(rule.name)
        col = self.model.rule_column_index(rule.name)
        self.table.scrollTo(
            self.model.index(self.table.rowAt(0) if self.table.rowAt(0) >= 0 else 0, col)
        )
        self.formula.editor.setFocus()
        self.formula.editor.selectAll()

    def _formula_changed(self, values: dict) -> None:
        name = values["name"]
        if self.session is None or name not in self.session.order:
            return
        try:
            options = {
                "labels": values["labels"],
                "scale": values["scale"],
                "where": values.get("where", ""),
            }
            old = self.session.rule(name)
            rule = kind_of(values["kind"]).make(values["text"], name, options, old)
        except RuleError as exc:
            self.formula.show_error(str(exc))
            return
        if rule == self.session.rule(name) and not self.session.evaluator.columns[name].error:
            return
        self.set_rule(rule)

    def set_rule(self, rule: Rule) -> None:
        kind_changed = rule.kind is not self.session.rule(rule.name).kind
        try:
            self.session.set_rule(rule)
            self.formula.show_error(None)
        except RuleError as exc:
            self.formula.show_error(str(exc))
        if self._named_by_noun(rule.name) or kind_changed:
            self._columns_changed()
        self._refresh_panels()

    def _named_by_noun(self, name: str) -> bool:
        """A flag column the user has not named follows its rule's noun ("on_policy")."""
        new = self.session.name_by_noun(name)
        if new == name:
            return False
        if self._selected == name:
            self._selected = new
            self.formula.set_rule(self.session.rule(new), self.session.evaluator.columns[new].error)
        return True

    def _revert(self, rule: Rule) -> None:
        self.set_rule(
            Rule(
                rule.text,
                name=self._selected or rule.name,
                kind=rule.kind,
                labels=rule.labels,
                descriptions=rule.descriptions,
                scale=rule.scale,
                max_tokens=rule.max_tokens,
                where=rule.where,
                gold=self.session.rule(self._selected).gold if self._selected else rule.gold,
                learn=self.session.rule(self._selected).learn if self._selected else rule.learn,
            )
        )
        self._select(self._selected)

    def rename_dialog(self) -> None:
        name = self.selected_rule()
        if name is None:
            return
        new, ok = QInputDialog.getText(self, "Rename rule column", "New name:", text=name)
        if ok:
            self.rename_rule(name, new)

    def rename_rule(self, old: str, new: str) -> None:
        try:
            self.session.rename(old, new)
        except FastsheetError as exc:
            self.show_error(str(exc))
            return
        self._columns_changed()
        self._select(new.strip() or old)

    def delete_rule(self) -> None:
        name = self.selected_rule()
        if name is None:
            return
        self.session.remove(name)
        self._columns_changed()
        self._select(self.session.order[-1] if self.session.order else None)

    def move_rule(self, delta: int) -> None:
        name = self.selected_rule()
        if name is None:
            return
        self.session.move(name, delta)
        self._columns_changed()

    def _header_menu(self, pos) -> None:
        col = self.table.horizontalHeader().logicalIndexAt(pos)
        if self.model is not None and col >= 0 and (why := self.model.reasons_of(col)):
            menu = QMenu(self)
            menu.addAction("Hide reasons", lambda: self.hide_reasons(why))
            menu.exec(self.table.horizontalHeader().mapToGlobal(pos))
            return
        if self.model is None or col < 0 or not self.model.is_rule_column(col):
            return
        self._select(self.model.column_name(col))
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        for a in (self.act_rename, self.act_delete, self.act_left, self.act_right):
            menu.addAction(a)
        name = self.model.column_name(col)
        rule = self.session.rule(name)
        if kind_of(rule).polar or kind_of(rule).labelable:
            menu.addSeparator()
        if kind_of(rule).polar:
            good = polarity.of(rule).good
            turn = menu.addAction("A yes is a finding (red)" if good else "A yes is good (green)")
            turn.triggered.connect(lambda: self.turn_over(name))
        if kind_of(rule).labelable:
            learn = menu.addAction("Learn from labels")
            learn.setCheckable(True)
            learn.setChecked(rule.learn)
            learn.setToolTip(LEARN_TIP)
            learn.toggled.connect(lambda on: self.set_learning(name, on))
        menu.exec(self.table.horizontalHeader().mapToGlobal(pos))

    def _header_clicked(self, col: int, y: int) -> None:
        """A click on a flag header's second line ("⚑ yes = flagged") turns over what a yes
        means; a click on its name only selects the column."""
        header = self.table.horizontalHeader()
        if self.model is None or not self.model.is_rule_column(col) or y < header.height() / 2:
            return
        name = self.model.column_name(col)
        if kind_of(self.session.rule(name)).polar:
            self.turn_over(name)

    def turn_over(self, name: str) -> None:
        """A flag's yes becomes the good outcome, or a finding again (no model call)."""
        good = polarity.of(self.session.rule(name)).good
        self.session.set_yes_means(name, polarity.FINDING if good else polarity.GOOD)
        if self.model is not None and self.model.has_rule(name):
            col = self.model.rule_column_index(name)
            self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, col, col)
            header = self.table.horizontalHeader()
            header.resizeSection(col, max(header.sectionSize(col), self._fit_header(col)))
            self.table.viewport().update()
        self._refresh_panels()

    def set_learning(self, name: str, on: bool) -> None:
        """Rule `name` learns its labels (a head over its kept states, from LEARN_FROM) or
        is taught by them; its column starts again (a rule in error stays in error)."""
        try:
            self.session.set_learning(name, on)
        except RuleError as exc:
            self.formula.show_error(str(exc))
        if self._labelling == name:
            self.label_bar.set_learning(on)
            self._label_event(name)
        if self.model is not None and self.model.has_rule(name):
            col = self.model.rule_column_index(name)
            self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, col, col)
        self._refresh_panels()

    def _header_double_clicked(self, col: int) -> None:
        if self.model is not None and self.model.is_rule_column(col):
            self._select(self.model.column_name(col))
            self.rename_dialog()

    # ----- where a rule's known answers come from -----------------------------------------------

    def _gold_changed(self, text: str) -> None:
        name = self.selected_rule()
        if self.session is None or self.session.frame is None or name is None or not text:
            return
        try:
            self.session.set_gold(name, None if text == MARKS_ONLY else text)
            self.formula.show_error(None)
        except FastsheetError as exc:
            self.formula.show_error(str(exc))
        self._columns_changed()


class HeaderClicks(QObject):
    """Reports a left click on a header section with where in its height it landed (the
    header's own signal says only which section)."""

    def __init__(self, header: QHeaderView, clicked: Callable[[int, int], None]) -> None:
        super().__init__(header)
        self._header, self._clicked = header, clicked
        header.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.MouseButtonRelease
            and event.button() == Qt.MouseButton.LeftButton
        ):
            pos = event.position().toPoint()
            col = self._header.logicalIndexAt(pos.x())
            if col >= 0:
                self._clicked(col, pos.y())
        return False  # the header still selects the column
