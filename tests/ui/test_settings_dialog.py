"""The Model dialog lists the models other tools keep, and preselects the one in use."""

from __future__ import annotations

from pathlib import Path

from tests.backends.test_discovery import fake_home  # noqa: F401 (fixture)
from ui.settings_dialog import SettingsDialog


def test_the_model_dialog_lists_every_tools_models(fake_home, qtbot, model_path: Path):  # noqa: F811
    ollama_blob = next((fake_home / ".ollama/models/blobs").iterdir())
    dialog = SettingsDialog(None, current=ollama_blob)
    qtbot.addWidget(dialog)
    items = [dialog.models.itemText(i) for i in range(dialog.models.count())]
    assert any(t.startswith("ollama:qwen2.5:0.5b · Ollama · Q4_0") for t in items), items
    assert any(
        t.startswith("lmstudio:lmstudio-community/phi-q4_k_m.gguf · LM Studio") for t in items
    )
    assert any("hf:Qwen/Qwen2-GGUF/qwen2-q8_0.gguf · Hugging Face · Q8_0" in t for t in items)
    assert dialog.models.currentText().startswith("ollama:qwen2.5:0.5b")
    path, threads = dialog.choice()
    assert path == ollama_blob and threads >= 1


def test_a_model_that_fails_to_load_keeps_the_current_one(app, reviews_csv, tmp_path):
    from tests.ui.helpers import open_file, run
    from ui.model_actions import model_text

    window, _, loop = app
    open_file(window, loop, reviews_csv)
    before = window.session.backend
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)  # a header and nothing else
    run(loop, window.switch_model(bad, None))
    assert "broken.gguf" in window.last_error()
    assert "current model is still in use" in window.last_error()
    assert window.session.backend is before
    assert window.model_label.text() == model_text(before)  # not "Loading broken.gguf…"
    assert window.session.frame is not None  # the sheet stays
