"""Models other tools keep (LM Studio, Ollama, the Hugging Face cache, llama.cpp), found in
place under a temporary HOME, listed by `fastsheet models` and used by `--model`."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from fastsheet.backends.discovery import all_models, ollama_name, resolve_name
from fastsheet.backends.gguf import read_info
from fastsheet.backends.models import model_ref, resolve_model
from fastsheet.data.errors import ModelError

OLLAMA_MANIFEST = "registry.ollama.ai/library/qwen2.5/0.5b"


def tiny_gguf(path: Path, name: str, file_type: int = 15) -> Path:
    """A header-only GGUF (no tensors): enough to be listed, never to be loaded."""

    def string(s: str) -> bytes:
        data = s.encode()
        return struct.pack("<Q", len(data)) + data

    kv = [
        string("general.architecture") + struct.pack("<I", 8) + string("llama"),
        string("general.name") + struct.pack("<I", 8) + string(name),
        string("general.file_type") + struct.pack("<I", 4) + struct.pack("<I", file_type),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + b"".join(kv))
    return path


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_path: Path) -> Path:
    """LM Studio, Ollama, HF hub and llama.cpp trees; the Ollama blob is the real Fast model."""
    home = tmp_path / "home"
    for var in ("OLLAMA_MODELS", "HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "LLAMA_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FASTSHEET_MODELS", str(tmp_path / "empty-models"))
    monkeypatch.setenv("FASTSHEET_MODEL_PATH", str(tmp_path / "mine"))
    tiny_gguf(home / ".lmstudio/models/lmstudio-community/Phi-GGUF/phi-q4_k_m.gguf", "Phi LM")
    ollama = home / ".ollama/models"
    digest = "sha256:" + "ab" * 32
    (ollama / "blobs").mkdir(parents=True)
    os.symlink(model_path, ollama / "blobs" / digest.replace(":", "-"))
    manifest = ollama / "manifests" / OLLAMA_MANIFEST
    manifest.parent.mkdir(parents=True)
    layers = [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "cd" * 32},
        {"mediaType": "application/vnd.ollama.image.model", "digest": digest},
    ]
    manifest.write_text(json.dumps({"schemaVersion": 2, "layers": layers}))
    (ollama / "manifests/registry.ollama.ai/library/broken").mkdir(parents=True)
    (ollama / "manifests/registry.ollama.ai/library/broken/latest").write_text("{not json")
    snap = home / ".cache/huggingface/hub/models--Qwen--Qwen2-GGUF/snapshots/0123abc"
    tiny_gguf(snap / "qwen2-q8_0.gguf", "Qwen2 HF", file_type=7)
    tiny_gguf(home / ".cache/llama.cpp/bartowski_gemma-q4_0.gguf", "Gemma cpp", file_type=2)
    tiny_gguf(tmp_path / "mine/deep/own.gguf", "My own")
    (tmp_path / "mine/notes.txt").write_text("not a model")
    return home


def test_every_tools_models_are_found_in_place_and_named_as_the_tool_names_them(
    fake_home: Path, tmp_path: Path, model_path: Path
):
    found = {f.name: f for f in all_models()}
    assert set(found) == {
        "lmstudio:lmstudio-community/phi-q4_k_m.gguf",
        "ollama:qwen2.5:0.5b",
        "hf:Qwen/Qwen2-GGUF/qwen2-q8_0.gguf",
        "llamacpp:bartowski_gemma-q4_0.gguf",
        str(tmp_path / "mine/deep/own.gguf"),
    }
    assert found["ollama:qwen2.5:0.5b"].source == "Ollama"
    assert found["ollama:qwen2.5:0.5b"].path.resolve() == model_path.resolve()  # not copied
    assert read_info(found["hf:Qwen/Qwen2-GGUF/qwen2-q8_0.gguf"].path).quantization == "Q8_0"
    assert resolve_model("ollama:qwen2.5:0.5b") == found["ollama:qwen2.5:0.5b"].path
    assert model_ref(found["llamacpp:bartowski_gemma-q4_0.gguf"].path) == (
        "llamacpp:bartowski_gemma-q4_0.gguf"
    )
    with pytest.raises(ModelError, match=r"No model 'ollama:llama3:8b'.*ollama:qwen2.5:0.5b"):
        resolve_name("ollama:llama3:8b")


def test_ollama_names_follow_ollama():
    assert ollama_name("registry.ollama.ai", "library", "qwen2.5", "0.5b") == "qwen2.5:0.5b"
    assert ollama_name("registry.ollama.ai", "someone", "tiny", "latest") == "someone/tiny:latest"
    assert ollama_name("hf.co", "bartowski", "Qwen-GGUF", "Q4_K_M") == (
        "hf.co/bartowski/Qwen-GGUF:Q4_K_M"
    )


def test_nothing_installed_lists_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("FASTSHEET_MODELS", str(tmp_path / "none"))
    for var in ("OLLAMA_MODELS", "HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "LLAMA_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("FASTSHEET_MODEL_PATH", raising=False)
    assert all_models() == []


def test_the_cli_lists_them_and_evaluates_with_an_ollama_model(fake_home: Path, tmp_path: Path):
    env = {**os.environ}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "fastsheet.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )

    listing = cli("models")
    assert listing.returncode == 0, listing.stderr
    for line in (
        "lmstudio:lmstudio-community/phi-q4_k_m.gguf",
        "Phi LM · 0 MB · Q4_K_M · not catalogued",
        "ollama:qwen2.5:0.5b",
        "hf:Qwen/Qwen2-GGUF/qwen2-q8_0.gguf",
        "llamacpp:bartowski_gemma-q4_0.gguf",
        "FASTSHEET_MODEL_PATH",
    ):
        assert line in listing.stdout, listing.stdout
    data = tmp_path / "rows.csv"
    data.write_text("review\nAbsolutely loved it.\nTerrible. Never again.\n")
    out = tmp_path / "out.csv"
    rule = "The review is positive."
    args = ("eval", str(data), "--rule", rule, "--model", "ollama:qwen2.5:0.5b", "--out", str(out))
    run = cli(*args, "--no-cache")
    assert run.returncode == 0, run.stderr
    result = pl.read_csv(out)
    assert result["rule"].to_list() == [True, False]  # judged by the model Ollama keeps
    missing = cli(*args[:-4], "--model", "ollama:llama3:8b", "--out", str(out))
    assert missing.returncode == 2 and "No model 'ollama:llama3:8b'" in missing.stderr
