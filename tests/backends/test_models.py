"""Model files: the catalogue, GGUF headers, verification and resolution errors."""

import re
from pathlib import Path

import pytest

from fastsheet.backends.discovery import folder_models
from fastsheet.backends.gguf import read_info
from fastsheet.backends.models import (
    CATALOGUE,
    DEFAULT_MODEL,
    FAST_MODEL,
    describe,
    model_ref,
    resolve_model,
    tier_model,
    tier_of,
)
from fastsheet.data.errors import ModelError


def test_fast_model_is_set_up_and_verifies(model_path: Path):
    assert model_path.name == CATALOGUE[FAST_MODEL].filename
    found = describe(model_path)
    assert found.verified is True
    assert found.info is not None and found.info.quantization == "Q4_0"
    assert found.info.name == "Qwen2.5 Coder 0.5B Instruct AWQ"
    assert found.info.has_chat_template


def test_source_file_verifies_too(model_path: Path):
    source = model_path.parent / CATALOGUE[FAST_MODEL].source.filename
    assert source.stat().st_size == 491_400_064
    assert describe(source).verified is True
    assert read_info(source).quantization == "Q4_K_M"


def test_a_tampered_copy_fails_verification(tmp_path: Path, model_path: Path):
    copy = tmp_path / model_path.name
    with model_path.open("rb") as src, copy.open("wb") as dst:
        dst.write(src.read(1 << 20))  # a truncated "download"
    assert describe(copy).verified is False


def test_a_folder_lists_its_gguf_files_and_says_what_is_wrong_with_one(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "fake.gguf").write_bytes(b"NOPE" + b"\0" * 100)
    found = list(folder_models(tmp_path, "models/"))
    assert [f.path.name for f in found] == ["fake.gguf"]
    described = describe(found[0].path)
    assert described.verified is False and "not a GGUF" in described.problem


def test_resolve_errors(tmp_path: Path):
    with pytest.raises(ModelError, match="No such model file"):
        resolve_model(tmp_path / "missing.gguf")
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("hello, I am a text file")
    with pytest.raises(ModelError, match="not a GGUF"):
        resolve_model(not_gguf)
    with pytest.raises(ModelError, match="folder"):
        resolve_model(tmp_path)


def test_missing_default_explains_the_setup_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FASTSHEET_MODELS", str(tmp_path))
    with pytest.raises(ModelError, match=re.escape(f"fastsheet models pull {DEFAULT_MODEL}")):
        resolve_model(None)
    with pytest.raises(ModelError, match=r"accurate model .* is not set up"):
        tier_model("accurate")


def test_default_tier_is_set_up_and_both_tiers_are_known():
    default = resolve_model(None)
    assert describe(default).verified is True
    assert default.name == CATALOGUE[DEFAULT_MODEL].filename
    assert tier_of(tier_model("fast")) == "fast"
    assert tier_of(tier_model("accurate")) == "accurate"
    assert read_info(tier_model("accurate")).quantization == "Q4_0"


def test_truncated_gguf_header_is_a_model_error(tmp_path: Path, model_path: Path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(model_path.open("rb").read(4096))
    with pytest.raises(ModelError, match="not a valid GGUF"):
        read_info(broken)


def test_a_file_that_fails_to_load_is_a_model_error(tmp_path: Path):
    from fastsheet.backends.llama_backend import LlamaBackend

    fake = tmp_path / "fake.gguf"
    # a valid GGUF header with no tensors and no architecture: llama.cpp refuses it
    import struct

    fake.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0))
    with pytest.raises(ModelError, match="could not load"):
        LlamaBackend(fake)


def test_a_project_names_a_catalogued_model_by_name_and_any_other_by_path(
    tmp_path: Path, model_path: Path
):
    assert model_ref(model_path) == FAST_MODEL
    assert resolve_model(model_ref(model_path)) == model_path
    copy = tmp_path / model_path.name  # the catalogue's file name, outside the models folder
    copy.write_bytes(b"GGUF")
    assert model_ref(copy) == str(copy.resolve())


class _Backend:
    def __init__(self, path: Path) -> None:
        self.path = path


def test_a_session_loads_the_projects_model_only_when_it_differs(tmp_path: Path, model_path: Path):
    from fastsheet.files.project import Project
    from fastsheet.session import Session
    from fastsheet.sheet.cache import NoCache

    session = Session(_Backend(model_path), NoCache())  # type: ignore[arg-type]
    project = Project(data=tmp_path / "data.csv")
    assert session.model_for(project) is None  # no model saved: keep the current one
    project.model = FAST_MODEL
    assert session.model_for(project) is None  # the one in use
    project.model = str(model_path)
    assert session.model_for(project) is None
    other = tmp_path / "other.gguf"
    other.write_bytes(model_path.read_bytes()[:4096])
    project.model = str(other)
    assert session.model_for(project) == other
    project.model = str(tmp_path / "gone.gguf")
    with pytest.raises(ModelError, match="No such model file"):
        session.model_for(project)
