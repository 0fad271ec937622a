"""Shared fixtures. The real default model is required: `make test` sets it up."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test's result cache out of the user's cache folder."""
    monkeypatch.setenv("FASTSHEET_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The Fast tier's model: the engine, UI and CLI tests run on it (quick in CI)."""
    from fastsheet.backends.models import FAST_MODEL, resolve_model

    return resolve_model(FAST_MODEL)  # fails loudly (never skips) if it is not set up


@pytest.fixture(scope="session")
def backend(model_path: Path):
    from fastsheet.backends.llama_backend import LlamaBackend

    os.environ.setdefault("FASTSHEET_CACHE_DIR", str(ROOT / ".pytest_cache" / "fastsheet"))
    b = LlamaBackend(model_path, keep_states=True)  # as the app's
    yield b
    b.close()


@pytest.fixture(scope="session")
def default_backend():
    """The default tier's model (the app's default), for the answer-quality test."""
    from fastsheet.backends.llama_backend import LlamaBackend
    from fastsheet.backends.models import resolve_model

    b = LlamaBackend(resolve_model(None))
    yield b
    b.close()


@pytest.fixture
def reviews() -> pl.DataFrame:
    """Twelve clear-cut reviews from the labelled dev set, half positive."""
    frame = pl.read_csv(ROOT / "bench" / "data" / "reviews.csv")
    clear = [
        "Wow... Loved this place.",
        "Crust is not good.",
        "Not tasty and the texture was just nasty.",
        "The selection on the menu was great and so were the prices.",
        "Now I am getting angry and I want my damn pho.",
        "Honeslty it didn't taste THAT fresh.)",
        "The fries were great too.",
        "A great touch.",
        "Service was very prompt.",
        "Would not go back.",
        "The potatoes were like rubber and you could tell they had been made up ahead of time being kept under a warmer.",
        "Highly recommended.",
    ]
    return frame.filter(pl.col("review").is_in(clear))


@pytest.fixture(scope="session")
def llama_server():
    """A real llama_cpp.server on loopback serving the default model; yields its URL."""
    from bench.server import start_llama_server, stop_llama_server
    from fastsheet.backends.models import resolve_model

    proc, url = start_llama_server(resolve_model(None))
    yield url
    stop_llama_server(proc)


@pytest.fixture(scope="session")
def laya_serve():
    """laya-serve, a third-party System One (Jev) server, on loopback with its weight-free
    deterministic backend; yields its URL."""
    from bench.server import start_laya_serve, stop_llama_server

    proc, url = start_laya_serve()
    yield url
    stop_llama_server(proc)
