"""Split into steps: propose, show the proposal, apply it only when accepted."""

from __future__ import annotations

from fastsheet.data.errors import RuleError
from fastsheet.plans.split import Step, propose_split


class SplitActions:
    """A part of MainWindow (mixed in; uses its session, formula bar and banner)."""

    split_dialog = None  # the open proposal, if any

    def split_rule(self) -> None:
        """Propose steps for the selected rule; a message when it cannot be split."""
        from ui.split_dialog import SplitDialog

        name = self.selected_rule()
        if self.session is None or name is None:
            return
        ev = self.session.evaluator
        split = propose_split(self.session.rule(name), ev.frame, set(ev.columns))
        if not split.ok:
            self.show_error(f"{name} was not split: {split.reason}")
            return
        dialog = SplitDialog(split.steps, dict(ev.frame.schema), self)
        dialog.accepted.connect(lambda: self._apply_split(dialog.steps()))
        dialog.finished.connect(lambda _: setattr(self, "split_dialog", None))
        self.split_dialog = dialog
        dialog.open()  # window-modal, without blocking the event loop

    def _apply_split(self, steps: list[Step]) -> None:
        try:
            self.session.apply_split(steps)
        except RuleError as exc:
            self.show_error(f"The split was not applied: {exc}")
            return
        self._columns_changed()
        self._select(steps[-1].name)
        self._refresh_panels()
