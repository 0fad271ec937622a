"""GGUF models other tools already keep on this machine: found in place, never copied.

Each is named the way its tool names it, behind a prefix that `--model` accepts:
`ollama:qwen2.5:0.5b`, `lmstudio:<publisher>/<file>`, `hf:<org>/<repo>/<file>`,
`llamacpp:<file>`. Only file headers are read while listing; nothing is loaded.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastsheet.backends.gguf import is_gguf
from fastsheet.data.errors import ModelError
from fastsheet.data.paths import models_dir

log = logging.getLogger(__name__)

OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_REGISTRY = "registry.ollama.ai"
PREFIXES = ("ollama:", "lmstudio:", "hf:", "llamacpp:")
MAX_DEPTH = 6  # folder levels searched below a root (HF snapshots sit at depth 4)


@dataclass(frozen=True)
class Found:
    """A model file found in place."""

    name: str  # what `--model` accepts for it
    path: Path
    source: str  # e.g. "Ollama", shown beside it


def home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _ggufs(root: Path) -> Iterator[Path]:
    """*.gguf files below `root`, in name order, following the symlinks caches use."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        depth = len(Path(dirpath).relative_to(root).parts)
        if depth >= MAX_DEPTH:
            dirnames.clear()
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(".gguf"):
                yield Path(dirpath) / name


# ----- each tool's folders ---------------------------------------------------------------


def lmstudio_roots() -> list[Path]:
    return [home() / ".lmstudio" / "models", home() / ".cache" / "lm-studio" / "models"]


def ollama_root() -> Path:
    if env := os.environ.get("OLLAMA_MODELS"):
        return Path(env)
    return home() / ".ollama" / "models"


def hf_hub_root() -> Path:
    if env := os.environ.get("HF_HUB_CACHE"):
        return Path(env)
    if env := os.environ.get("HF_HOME"):
        return Path(env) / "hub"
    return Path(os.environ.get("XDG_CACHE_HOME") or home() / ".cache") / "huggingface" / "hub"


def llamacpp_root() -> Path:
    """llama.cpp's download cache (`LLAMA_CACHE`, else the platform's cache folder)."""
    if env := os.environ.get("LLAMA_CACHE"):
        return Path(env)
    if sys.platform == "darwin":
        return home() / "Library" / "Caches" / "llama.cpp"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home()) / "llama.cpp"
    return Path(os.environ.get("XDG_CACHE_HOME") or home() / ".cache") / "llama.cpp"


def extra_roots() -> list[Path]:
    """Folders listed in `FASTSHEET_MODEL_PATH` (separated like PATH)."""
    raw = os.environ.get("FASTSHEET_MODEL_PATH", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


# ----- listing ---------------------------------------------------------------------------


def lmstudio_models() -> Iterator[Found]:
    for root in lmstudio_roots():
        for path in _ggufs(root):
            publisher = path.relative_to(root).parts[0]
            yield Found(f"lmstudio:{publisher}/{path.name}", path, "LM Studio")


def ollama_models() -> Iterator[Found]:
    """Each manifest's model layer, named as Ollama names it (`qwen2.5:0.5b`)."""
    root = ollama_root()
    manifests = root / "manifests"
    if not manifests.is_dir():
        return
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file()):
        parts = manifest.relative_to(manifests).parts
        if len(parts) != 4:
            continue
        try:
            layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers", [])
            digest = next(x["digest"] for x in layers if x.get("mediaType") == OLLAMA_MODEL_LAYER)
        except (OSError, ValueError, StopIteration, KeyError, TypeError, AttributeError):
            log.debug("skipping unreadable Ollama manifest %s", manifest)
            continue
        blob = root / "blobs" / str(digest).replace(":", "-")
        if is_gguf(blob):
            yield Found(f"ollama:{ollama_name(*parts)}", blob, "Ollama")


def ollama_name(registry: str, namespace: str, model: str, tag: str) -> str:
    """`qwen2.5:0.5b` for the default registry's library, longer names otherwise."""
    if registry == OLLAMA_REGISTRY:
        return f"{model}:{tag}" if namespace == "library" else f"{namespace}/{model}:{tag}"
    return f"{registry}/{namespace}/{model}:{tag}"


def hf_models() -> Iterator[Found]:
    """GGUFs in the Hugging Face hub cache's snapshots (`models--org--repo`)."""
    root = hf_hub_root()
    if not root.is_dir():
        return
    seen: set[str] = set()
    for repo in sorted(root.glob("models--*")):
        repo_id = repo.name.removeprefix("models--").replace("--", "/")
        for path in _ggufs(repo / "snapshots"):
            inner = path.relative_to(repo / "snapshots").parts[1:]  # below the revision
            name = f"hf:{repo_id}/{'/'.join(inner)}"
            if name not in seen:
                seen.add(name)
                yield Found(name, path, "Hugging Face")


def llamacpp_models() -> Iterator[Found]:
    for path in _ggufs(llamacpp_root()):
        yield Found(f"llamacpp:{path.name}", path, "llama.cpp")


def folder_models(root: Path, source: str) -> Iterator[Found]:
    for path in _ggufs(root):
        yield Found(str(path), path, source)


def all_models() -> list[Found]:
    """Every GGUF found: models/, then each tool's folders, then FASTSHEET_MODEL_PATH.

    The same file found twice (a symlink, a shared folder) is listed once."""
    found: list[Found] = []
    seen: set[Path] = set()
    sources = [
        folder_models(models_dir(), "models/"),
        lmstudio_models(),
        ollama_models(),
        hf_models(),
        llamacpp_models(),
        *(folder_models(root, "FASTSHEET_MODEL_PATH") for root in extra_roots()),
    ]
    for source in sources:
        for item in source:
            try:
                key = item.path.resolve()
            except OSError:
                continue
            if key not in seen:
                seen.add(key)
                found.append(item)
    return found


def resolve_name(spec: str) -> Path:
    """The file behind a prefixed name (`ollama:qwen2.5:0.5b`); a clear error if none."""
    prefix = spec.split(":", 1)[0] + ":"
    listing = {
        "ollama:": ollama_models,
        "lmstudio:": lmstudio_models,
        "hf:": hf_models,
        "llamacpp:": llamacpp_models,
    }[prefix]
    names = []
    for item in listing():
        if item.name == spec:
            return item.path
        names.append(item.name)
    known = ", ".join(names[:8]) if names else "none found"
    raise ModelError(
        f"No model {spec!r} on this machine ({known}). `fastsheet models` lists what is found."
    )
