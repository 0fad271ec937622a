"""The panels beside the grid follow the selected rule: summary, breakdown, threshold
histogram (dragged to re-decide every row), history, and the flash of flipped cells
(the MainWindow's half that fills its panels)."""

from __future__ import annotations

import time

import numpy as np

from fastsheet.data.errors import FastsheetError
from fastsheet.kinds import polarity
from ui import theme

HISTOGRAM_ROWS = 200_000
REFRESH_MS = 120  # the panels follow the engine at most this often (longer on big sheets)


class PanelUpdates:
    """Mixed into MainWindow: the summary panel, the threshold and the history."""

    def _threshold_dragged(self, threshold: float) -> None:
        name = self.selected_rule()
        if name is not None:
            self.session.set_threshold(name, threshold, save=False)

    def _threshold_released(self, threshold: float) -> None:
        name = self.selected_rule()
        if name is not None:
            self.session.set_threshold(name, threshold)

    def _threshold_reset(self) -> None:
        name = self.selected_rule()
        if name is not None:
            self.session.set_threshold(name, None)
            self._refresh_panels()

    def _filter_changed(self, mode: str) -> None:
        if self.model is not None:
            self.model.set_filter(mode, self._selected)
            self._refresh_panels()

    def _show_disagreements(self) -> None:
        self.filter.setCurrentText("Disagrees with gold")

    def _flash_flips(self, name: str) -> None:
        history = self.session.evaluator.history(name)
        complete = [g for g in history if g.complete]
        if len(complete) >= 2:
            diff = self.session.evaluator.diff(name, complete[-2].number, complete[-1].number)
            if diff is not None and len(diff.changed):
                self.model.flash(name, diff.changed, theme.now() + 2.0)

    def _refresh_panels(self) -> None:
        """Summary, breakdown, histogram and history; on a big sheet these take a while, so
        the next refresh waits ten times as long as this one took (at least 120 ms): the
        panels never take more than a tenth of the event loop while a column fills."""
        started = time.perf_counter()
        self._fill_panels()
        spent_ms = 1000 * (time.perf_counter() - started)
        self._refresh_timer.setInterval(max(REFRESH_MS, min(int(10 * spent_ms), 1000)))

    def _fill_panels(self) -> None:
        session = self.session
        if session is None or session.evaluator is None:
            return
        ev = session.evaluator
        name = self.selected_rule()
        rate = ev.rows_per_s
        self.rate_label.setText(f"{rate:.1f} rows/s" if rate else "")
        if name is None or name not in ev.columns:
            self.summary.show_summary(None, None, rate)
            self.summary.show_gold(None)
            self.history.show_history([], None)
            return
        column = ev.columns[name]
        if column.error:
            self.summary.show_summary(name, None, rate)
            self.summary.headline.setText(f"⚠ {column.error}")
            return
        self.summary.show_summary(name, ev.summary(name), rate)
        learned = column.decision.learned if column.decision.learning else None
        self.summary.show_gold(ev.agreement(name), learned.agreement() if learned else None)
        self._show_threshold(name)
        by = self.summary.by.currentText()
        if by and by != "(none)" and not column.result.kind.stores_text:
            try:
                self.summary.show_breakdown(ev.breakdown(name, by))
            except FastsheetError:
                self.summary.show_breakdown(None)
        else:
            self.summary.show_breakdown(None)
        complete = [g for g in ev.history(name) if g.complete]
        diff = (
            ev.diff(name, complete[-2].number, complete[-1].number) if len(complete) >= 2 else None
        )
        self.history.show_history(ev.history(name), diff)

    def _show_threshold(self, name: str) -> None:
        column = self.session.evaluator.columns[name]
        if not column.result.kind.thresholded:
            self.summary.show_threshold(None, None)
            return
        done = column.result.done_mask()
        rows = np.flatnonzero(done)
        if len(rows) > HISTOGRAM_ROWS:
            rows = rows[:: len(rows) // HISTOGRAM_ROWS + 1]
        labels = self.session.evaluator.labels(name)
        self.summary.show_threshold(
            column.result.p_yes()[rows],
            column.calibration,
            labels[rows] if labels is not None else None,
            column.taught_from,
            good=polarity.of(column.rule).good,
        )
