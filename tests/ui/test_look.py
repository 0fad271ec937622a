"""The desktop's look: light and dark palettes with contrast, the icon, the launcher, and a
window layout remembered per project."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QPalette

from fastsheet.data.cells import Cell, CellState
from fastsheet.data.paths import PROJECT_ROOT
from fastsheet.files.project import AppState
from fastsheet.kinds.rules import Kind, Rule
from tests.ui.helpers import open_file
from ui import palette, theme
from ui.app import application, create_window

Role = QPalette.ColorRole
TEXT_PAIRS = (
    (Role.Text, Role.Base),
    (Role.Text, Role.AlternateBase),
    (Role.WindowText, Role.Window),
    (Role.ButtonText, Role.Button),
    (Role.HighlightedText, Role.Highlight),
    (Role.PlaceholderText, Role.Base),
    (Role.Link, Role.Window),
    (Role.Mid, Role.Window),  # panel titles
    (Role.ToolTipText, Role.ToolTipBase),
)


@pytest.fixture
def dark_then_light(qapp):
    yield qapp
    palette.apply(qapp, dark=False)


def test_dark_palette_differs_from_light_and_keeps_contrast(dark_then_light) -> None:
    app = dark_then_light
    light, dark = palette.palette(False), palette.palette(True)
    for role in (Role.Window, Role.Base, Role.Text, Role.Button, Role.AlternateBase):
        assert light.color(role) != dark.color(role), role
    flag = Rule("x", name="f", kind=Kind.FLAG)
    for is_dark in (False, True):
        palette.apply(app, dark=is_dark)
        assert theme.dark() is is_dark
        p = app.palette()
        base, text = p.color(Role.Base), p.color(Role.Text)
        for fg, bg in TEXT_PAIRS:
            assert palette.contrast(p.color(fg), p.color(bg)) >= 4.5, (is_dark, fg, bg)
        # the grid's own colours: tints over the base, the flash, search matches, errors
        backgrounds = [theme.flash_color(), theme.found_brush().color()]
        for value, p_yes in ((True, 0.99), (True, 0.6), (False, 0.01)):
            tint = theme.cell_background(Cell(CellState.DONE, value=value, p=p_yes), flag)
            backgrounds.append(palette.over(tint.color(), base))
        for bg in backgrounds:
            assert palette.contrast(text, bg) >= 4.5, (is_dark, bg.name())
        assert theme.flash_color() != base and theme.found_brush().color() != base
        error = Cell(CellState.ERROR, error="boom")
        fg = theme.cell_foreground(error).color()
        assert palette.contrast(fg, theme.cell_background(error, flag).color()) >= 4.5
        pending = theme.cell_foreground(Cell(CellState.PENDING)).color()
        assert palette.contrast(pending, base) >= 4.5
        assert palette.contrast(theme.accent().color(), base) >= 4.5  # rule column headers
        error_text = palette.ERROR_TEXT[is_dark]
        assert f"color: {error_text}" in app.styleSheet()
        assert palette.contrast(p.color(Role.Window), type(base)(error_text)) >= 4.5


def test_theme_setting_overrides_the_desktop(monkeypatch) -> None:
    monkeypatch.setenv("FASTSHEET_THEME", "dark")
    assert palette.wants_dark()
    monkeypatch.setenv("FASTSHEET_THEME", "light")
    assert not palette.wants_dark()


def test_the_app_has_an_icon(qapp) -> None:
    app = application()
    assert app is qapp
    assert not app.windowIcon().isNull()
    assert app.desktopFileName() == "fastsheet"


def test_install_desktop_writes_a_launcher_and_icons(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "install-desktop"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    entry = (tmp_path / "applications" / "fastsheet.desktop").read_text()
    fields = dict(line.split("=", 1) for line in entry.splitlines()[1:] if "=" in line)
    assert entry.startswith("[Desktop Entry]")
    assert fields["Type"] == "Application" and fields["Icon"] == "fastsheet"
    program = Path(fields["Exec"].split()[0])
    assert program.is_file() and os.access(program, os.X_OK)
    assert (tmp_path / "icons/hicolor/scalable/apps/fastsheet.svg").is_file()
    assert (tmp_path / "icons/hicolor/256x256/apps/fastsheet.png").is_file()


def test_window_layout_is_remembered_per_project(app, reviews_csv, qtbot, loop, backend):
    window, _, _ = app
    open_file(window, loop, reviews_csv)
    window.resize(780, 560)  # within the offscreen screen (800 × 600)
    review = [window.model.column_name(c) for c in range(window.model.columnCount())]
    col = review.index("review")
    window.table.horizontalHeader().resizeSection(col, 517)
    window.splitter.setSizes([420, 350])
    sizes = window.splitter.sizes()
    size = (window.width(), window.height())
    assert size[0] == 780
    window.close()  # remembers the layout

    state = AppState(window.state.folder)
    again = create_window(state)
    qtbot.addWidget(again)
    again.set_session(window.session)
    again.show()
    open_file(again, loop, reviews_csv)
    assert again.table.horizontalHeader().sectionSize(col) == 517
    assert again.splitter.sizes() == sizes
    assert (again.width(), again.height()) == size
