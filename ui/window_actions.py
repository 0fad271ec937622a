"""The window's toolbar, actions and shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QToolBar, QToolButton, QWidget

from fastsheet.kinds import KINDS
from fastsheet.kinds.rules import Kind
from ui.sheet_model import FILTERS


class WindowActions:
    """A part of MainWindow (mixed in): builds its actions, and enables the sheet's."""

    def _build_actions(self) -> None:
        bar = QToolBar("Main")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(bar)

        def action(text: str, shortcut: QKeySequence | str | None, slot, tip: str = "") -> QAction:
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setToolTip(
                f"{tip or text} ({QKeySequence(shortcut).toString()})" if shortcut else tip or text
            )
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.act_open = action("Open…", QKeySequence.StandardKey.Open, self.open_dialog)
        self.act_save = action("Save project", QKeySequence.StandardKey.Save, self.save_dialog)
        self.act_export = action(
            "Export…",
            "Ctrl+E",
            self.export_dialog,
            "Export the data with results to CSV, Excel or Parquet",
        )
        self.act_add = action(
            "+ Rule column",
            "Ctrl+Shift+N",
            lambda: self.add_rule(Kind.FLAG),
            "Add a flag rule column",
        )
        add_menu = QMenu(self)
        for kind in KINDS.values():
            add_menu.addAction(f"{kind.name} column", lambda k=kind.kind: self.add_rule(k))
        self.act_rename = action(
            "Rename", "F2", self.rename_dialog, "Rename the selected rule column"
        )
        self.act_delete = action(
            "Delete", "Ctrl+Shift+Backspace", self.delete_rule, "Delete the selected rule column"
        )
        self.act_left = action(
            "◀", "Ctrl+Shift+Left", lambda: self.move_rule(-1), "Move the rule column left"
        )
        self.act_right = action(
            "▶", "Ctrl+Shift+Right", lambda: self.move_rule(1), "Move the rule column right"
        )
        self.act_settings = action(
            "Model…", "Ctrl+,", self.settings_dialog, "Choose the model and thread count"
        )
        self.act_focus = action(
            "Edit rule", "Ctrl+L", lambda: self.formula.editor.setFocus(), "Focus the formula bar"
        )
        self.act_paste_sheet = action(
            "New sheet from clipboard",
            "Ctrl+Shift+V",
            self.paste_as_sheet,
            "Make a sheet from cells copied in Excel or Sheets",
        )
        self.act_find = action(
            "Find…", QKeySequence.StandardKey.Find, self.find_bar.open_bar, "Find in any column"
        )
        self.act_goto = action("Go to row…", "Ctrl+G", self.go_to_dialog, "Go to a row number")
        self.act_label_next = action(
            "Label next",
            "Ctrl+Shift+L",
            self.label_next,
            "Label the rows that would help the selected rule most, one at a time (Y / N)",
        )

        bar.addAction(self.act_open)
        bar.addAction(self.act_save)
        bar.addAction(self.act_export)
        bar.addSeparator()
        add_button = QToolButton()
        add_button.setDefaultAction(self.act_add)
        add_button.setMenu(add_menu)
        add_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        bar.addWidget(add_button)
        for a in (self.act_rename, self.act_delete, self.act_left, self.act_right):
            bar.addAction(a)
        bar.addSeparator()
        bar.addWidget(QLabel(" Show "))
        self.filter = QComboBox()
        self.filter.addItems(FILTERS)
        self.filter.currentTextChanged.connect(self._filter_changed)
        bar.addWidget(self.filter)
        bar.addWidget(QLabel("  Labels "))
        self.gold = QComboBox()
        self.gold.setToolTip(
            "Known answers for the selected rule column: a data column, or only the rows you "
            "mark with Y (right) and N (wrong). They teach the rule and show agreement; "
            "the model never reads them."
        )
        self.gold.currentTextChanged.connect(self._gold_changed)
        self.gold.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        bar.addWidget(self.gold)
        bar.addAction(self.act_label_next)
        bar.addSeparator()
        self.tiers = QActionGroup(self)
        self.tiers.setExclusive(True)
        self.tier_actions: dict[str, QAction] = {}
        for tier, tip in (
            ("fast", "Fast: the 0.5B model, about 3x quicker, weaker answers"),
            ("accurate", "Accurate: the 1.5B model, better answers, about 3x slower"),
        ):
            a = QAction(tier.capitalize(), self)
            a.setCheckable(True)
            a.setToolTip(tip)
            a.triggered.connect(lambda _=False, t=tier: self.switch_tier(t))
            self.tiers.addAction(a)
            bar.addAction(a)
            self.tier_actions[tier] = a
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        bar.addWidget(spacer)
        bar.addAction(self.act_settings)

        file_menu = self.menuBar().addMenu("&File")
        for a in (self.act_open, self.act_save, self.act_export):
            file_menu.addAction(a)
        self.recent_menu = file_menu.addMenu("Open recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        file_menu.addAction("Quit", QKeySequence.StandardKey.Quit, self.close)
        edit_menu = self.menuBar().addMenu("&Edit")
        for a in (self.act_copy, self.act_select_all, self.act_paste_sheet):
            edit_menu.addAction(a)
        edit_menu.addSeparator()
        edit_menu.addAction(self.act_find)
        edit_menu.addAction(self.act_goto)
        file_menu.insertAction(self.act_export, self.act_paste_sheet)
        rule_menu = self.menuBar().addMenu("&Rule")
        rule_menu.addAction(self.act_add)
        rule_menu.addMenu(add_menu).setText("Add column of kind")
        for a in (self.act_focus, self.act_rename, self.act_delete, self.act_left, self.act_right):
            rule_menu.addAction(a)
        rule_menu.addSeparator()
        rule_menu.addAction(self.act_label_next)
        self.menuBar().addMenu("&Model").addAction(self.act_settings)
        self._set_sheet_actions(False)

    def _set_sheet_actions(self, enabled: bool) -> None:
        for a in (
            self.act_save,
            self.act_export,
            self.act_add,
            self.act_rename,
            self.act_delete,
            self.act_left,
            self.act_right,
            self.act_copy,
            self.act_select_all,
            self.act_find,
            self.act_goto,
            self.act_label_next,
        ):
            a.setEnabled(enabled)
        self.filter.setEnabled(enabled)
        self.gold.setEnabled(enabled)
