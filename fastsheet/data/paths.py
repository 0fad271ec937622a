"""Where fastsheet keeps its files: models, the result cache, app state."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def models_dir() -> Path:
    """`$FASTSHEET_MODELS`, else the checkout's `models/`, else the user data folder."""
    if env := os.environ.get("FASTSHEET_MODELS"):
        return Path(env)
    local = PROJECT_ROOT / "models"
    if local.is_dir():
        return local
    return Path(platformdirs.user_data_dir("fastsheet")) / "models"


def cache_dir() -> Path:
    """`$FASTSHEET_CACHE_DIR`, else the user cache folder."""
    if env := os.environ.get("FASTSHEET_CACHE_DIR"):
        return Path(env)
    return Path(platformdirs.user_cache_dir("fastsheet"))


def default_cache_path() -> Path:
    return cache_dir() / "results.sqlite"
