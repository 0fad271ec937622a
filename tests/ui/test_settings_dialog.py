"""The Model dialog lists the models other tools keep, and preselects the one in use."""

from __future__ import annotations

from pathlib import Path

from tests.test_discovery import fake_home  # noqa: F401 (fixture)
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
