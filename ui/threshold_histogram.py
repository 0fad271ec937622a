"""A histogram of a flag column's p(yes), with the decision threshold as a draggable line.

Scores are binned on the logit scale, where a small model's answers spread out; the axis
is labelled in probabilities. Dragging emits the new threshold continuously; the engine
re-decides every cell from stored probabilities, with no model call.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ui import theme

LIMIT = 9.0  # logit range shown: p from about 0.0001 to 0.9999
BINS = 36
TICKS = (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999)


def _logit(p: float | np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class ThresholdHistogram(QWidget):
    """p(yes) of the done rows; the threshold line can be dragged."""

    thresholdChanged = Signal(float)  # while dragging
    thresholdReleased = Signal(float)  # when the drag ends

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.SizeHorCursor)
        self.setToolTip("Drag the line to move the decision threshold")
        self._counts = np.zeros(BINS, dtype=int)
        self._labeled: tuple[np.ndarray, np.ndarray] | None = None  # (yes counts, no counts)
        self._threshold = 0.5
        self._good = False  # a yes is the good outcome: yes green, no red
        self._dragging = False

    # ----- data ---------------------------------------------------------------------------

    @property
    def good(self) -> bool:
        """Whether a yes is drawn as the good outcome (green)."""
        return self._good

    def set_scores(
        self, p: np.ndarray, threshold: float, labels: np.ndarray | None = None, good: bool = False
    ) -> None:
        """p(yes) of the done rows; `labels` (1/0/NaN per row of `p`) marks known answers;
        `good`: a yes is the good outcome (green, the finding red), as the column shows it."""
        self._good = good
        x = np.clip(_logit(p), -LIMIT, LIMIT) if len(p) else np.empty(0)
        edges = np.linspace(-LIMIT, LIMIT, BINS + 1)
        self._counts = np.histogram(x, bins=edges)[0]
        if labels is not None and len(labels) == len(x) and (~np.isnan(labels)).any():
            yes = np.histogram(x[labels == 1], bins=edges)[0]
            no = np.histogram(x[labels == 0], bins=edges)[0]
            self._labeled = (yes, no)
        else:
            self._labeled = None
        if not self._dragging:
            self._threshold = threshold
        self.update()

    def threshold(self) -> float:
        return self._threshold

    # ----- geometry -------------------------------------------------------------------------

    def _plot(self) -> QRectF:
        return QRectF(8, 6, max(10, self.width() - 16), max(10, self.height() - 26))

    def _x_of(self, p: float) -> float:
        plot = self._plot()
        t = (float(_logit(p)) + LIMIT) / (2 * LIMIT)
        return plot.left() + min(1.0, max(0.0, t)) * plot.width()

    def _p_of(self, x: float) -> float:
        plot = self._plot()
        t = (x - plot.left()) / plot.width()
        z = -LIMIT + min(1.0, max(0.0, t)) * 2 * LIMIT
        return float(1 / (1 + np.exp(-z)))

    # ----- painting -------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = self._plot()
        palette = self.palette()
        text = palette.color(palette.ColorRole.WindowText)
        muted = QColor(text)
        muted.setAlphaF(0.55)
        peak = max(1, int(self._counts.max()) if len(self._counts) else 1)
        width = plot.width() / BINS
        flagged, cleared = theme.flag_colors()
        yes_colour, no_colour = (cleared, flagged) if self._good else (flagged, cleared)
        for i, count in enumerate(self._counts):
            if not count:
                continue
            h = plot.height() * count / peak
            left = plot.left() + i * width
            centre_p = self._p_of(left + width / 2)
            color = QColor(yes_colour if centre_p >= self._threshold else no_colour)
            color.setAlphaF(0.75)
            painter.fillRect(QRectF(left + 1, plot.bottom() - h, width - 2, h), color)
        if self._labeled is not None:
            yes, no = self._labeled
            for i in range(BINS):
                cx = plot.left() + (i + 0.5) * width
                for count, colour, offset in ((yes, yes_colour, -3), (no, no_colour, 3)):
                    if count[i]:
                        painter.setPen(QPen(QColor(colour).darker(140), 2))
                        painter.drawEllipse(QPointF(cx + offset, plot.top() + 5), 2.5, 2.5)
        painter.setPen(QPen(muted, 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        font = painter.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 2))
        painter.setFont(font)
        for tick in TICKS:
            x = self._x_of(tick)
            painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 3))
            label = f"{tick:g}"
            w = painter.fontMetrics().horizontalAdvance(label)
            painter.drawText(QPointF(x - w / 2, plot.bottom() + 15), label)
        x = self._x_of(self._threshold)
        line = QColor(theme.accent().color())
        painter.setPen(QPen(line, 2))
        painter.drawLine(QPointF(x, plot.top() - 2), QPointF(x, plot.bottom()))
        painter.setBrush(line)
        painter.drawRect(QRectF(x - 4, plot.top() - 4, 8, 8))
        painter.end()

    # ----- dragging ---------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._move(event.position().x())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._move(event.position().x())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            self._move(event.position().x())
            self.thresholdReleased.emit(self._threshold)

    def _move(self, x: float) -> None:
        self._threshold = self._p_of(x)
        self.update()
        self.thresholdChanged.emit(self._threshold)
