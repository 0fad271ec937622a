"""Read a GGUF file's header metadata without loading the model."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fastsheet.data.errors import ModelError

MAGIC = b"GGUF"

FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
    16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 24: "IQ1_S",
    25: "IQ4_NL", 26: "IQ3_S", 28: "IQ4_XS", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0",
}  # fmt: skip

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class GgufInfo:
    name: str
    architecture: str
    quantization: str
    has_chat_template: bool


def is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False


def read_info(path: Path) -> GgufInfo:
    """Name, architecture, quantization and chat-template presence from the header."""
    wanted = {"general.name", "general.architecture", "general.file_type"}
    meta: dict[str, object] = {}
    has_template = False
    try:
        with path.open("rb") as f:
            if f.read(4) != MAGIC:
                raise ModelError(f"{path.name} is not a GGUF model file (wrong magic bytes).")
            version, _tensors, n_kv = struct.unpack("<IQQ", f.read(20))
            if version < 2:
                raise ModelError(f"{path.name} is GGUF version {version}; only 2 and 3 are read.")
            for _ in range(n_kv):
                key = _read_string(f)
                vtype = struct.unpack("<I", f.read(4))[0]
                if key == "tokenizer.chat_template":
                    has_template = True
                value = _read_value(f, vtype, keep=key in wanted)
                if key in wanted:
                    meta[key] = value
    except (struct.error, UnicodeDecodeError, ValueError, MemoryError) as exc:
        raise ModelError(
            f"{path.name} is not a valid GGUF file (truncated or corrupt header)."
        ) from exc
    file_type = meta.get("general.file_type")
    return GgufInfo(
        name=str(meta.get("general.name") or path.stem),
        architecture=str(meta.get("general.architecture") or "?"),
        quantization=FILE_TYPES.get(file_type, f"type {file_type}")
        if isinstance(file_type, int)
        else "?",
        has_chat_template=has_template,
    )


def _read_string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", f.read(8))
    if length > 1 << 26:
        raise ValueError("string too long")
    return f.read(length).decode("utf-8")


def _read_value(f: BinaryIO, vtype: int, keep: bool) -> object:
    if vtype in _SCALARS:
        fmt = _SCALARS[vtype]
        return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
    if vtype == _STRING:
        if keep:
            return _read_string(f)
        (length,) = struct.unpack("<Q", f.read(8))
        f.seek(length, 1)
        return None
    if vtype == _ARRAY:
        item_type, count = struct.unpack("<IQ", f.read(12))
        if item_type in _SCALARS:
            f.seek(struct.calcsize(_SCALARS[item_type]) * count, 1)
        else:
            for _ in range(count):
                _read_value(f, item_type, keep=False)
        return None
    raise ValueError(f"unknown GGUF value type {vtype}")
