"""Light and dark palettes: follow the desktop's colour scheme, or FASTSHEET_THEME."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from fastsheet.data.paths import PROJECT_ROOT
from ui import theme

log = logging.getLogger(__name__)

Role = QPalette.ColorRole
LIGHT = {
    Role.Window: "#f6f7f9",
    Role.WindowText: "#1c2024",
    Role.Base: "#ffffff",
    Role.AlternateBase: "#f3f5f8",
    Role.Text: "#1c2024",
    Role.Button: "#eceef2",
    Role.ButtonText: "#1c2024",
    Role.Highlight: "#2f5bd3",
    Role.HighlightedText: "#ffffff",
    Role.ToolTipBase: "#fffbe6",
    Role.ToolTipText: "#1c2024",
    Role.PlaceholderText: "#60646c",
    Role.Link: "#2f5bd3",
    Role.Mid: "#60646c",
    Role.Midlight: "#dfe3e8",
    Role.BrightText: "#ffffff",
}
DARK = {
    Role.Window: "#1b1d21",
    Role.WindowText: "#edeef0",
    Role.Base: "#111214",
    Role.AlternateBase: "#191b1f",
    Role.Text: "#edeef0",
    Role.Button: "#2a2d33",
    Role.ButtonText: "#edeef0",
    Role.Highlight: "#3d63dd",
    Role.HighlightedText: "#ffffff",
    Role.ToolTipBase: "#2a2d33",
    Role.ToolTipText: "#edeef0",
    Role.PlaceholderText: "#9a9ea8",
    Role.Link: "#8fb0ff",
    Role.Mid: "#a0a4ad",
    Role.Midlight: "#2e3137",
    Role.BrightText: "#ffffff",
}


ERROR_TEXT = {False: "#b42318", True: "#ff9592"}  # error messages on the window colour
STYLE = PROJECT_ROOT / "resources" / "style.qss"


def palette(dark: bool) -> QPalette:
    """The app's palette for a light or dark desktop (disabled text dimmed)."""
    colors = DARK if dark else LIGHT
    result = QPalette()
    for role, color in colors.items():
        result.setColor(role, QColor(color))
    dim = QColor(colors[Role.Mid])
    for role in (Role.Text, Role.WindowText, Role.ButtonText):
        result.setColor(QPalette.ColorGroup.Disabled, role, dim)
    return result


def wants_dark() -> bool:
    """FASTSHEET_THEME=dark|light if set, else the desktop's colour scheme."""
    choice = os.environ.get("FASTSHEET_THEME", "").strip().lower()
    if choice in ("dark", "light"):
        return choice == "dark"
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply(app: QApplication, dark: bool | None = None) -> bool:
    """Use the Fusion style with the light or dark palette; True if dark."""
    dark = wants_dark() if dark is None else dark
    app.setStyle("Fusion")
    app.setPalette(palette(dark))
    theme.palette_changed()
    if STYLE.exists():
        app.setStyleSheet(STYLE.read_text(encoding="utf-8").replace("$error", ERROR_TEXT[dark]))
    log.debug("palette: %s", "dark" if dark else "light")
    return dark


def follow_system(app: QApplication) -> None:
    """Switch palettes when the desktop switches (unless FASTSHEET_THEME pins one)."""
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply(app))


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two opaque colours (1 to 21)."""

    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return (
            0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())
        )

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def over(top: QColor, base: QColor) -> QColor:
    """A translucent colour as it shows over an opaque one."""
    alpha = top.alphaF()
    return QColor.fromRgbF(
        top.redF() * alpha + base.redF() * (1 - alpha),
        top.greenF() * alpha + base.greenF() * (1 - alpha),
        top.blueF() * alpha + base.blueF() * (1 - alpha),
    )
