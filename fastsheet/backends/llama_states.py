"""The model's own reading of each row: a hidden state taken from the decode that answers it.

llama.cpp's eval callback (`cb_eval` in the context parameters) is asked about every
tensor of the graph; `StateTap` says yes to one named tensor only, and when it is computed
copies the columns of the rows' answer positions. No second pass and no output for every
token: the state comes from the same decode that gives the answer's logits.

Layer names (llama.cpp's graph): `result_norm` is the final normalised state at the output
positions (the one the answer's logit is read from); `l_out-K` is layer K's output, for
every token of the batch except in the last layer, where only outputs remain.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np

GGML_TYPE_F32 = 0
FINAL = "result_norm"


class _Tensor(ctypes.Structure):
    """The head of ggml.h's `struct ggml_tensor` (GGML_MAX_DIMS 4, GGML_MAX_SRC 10)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * 4),
        ("nb", ctypes.c_size_t * 4),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * 16),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * 10),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * 64),
    ]


def layer_name(layer: int, n_layer: int) -> str:
    """The tensor of `layer` (negative: from the end; -1 is the final normalised state)."""
    if layer == -1:
        return FINAL
    index = layer if layer >= 0 else n_layer + layer + 1
    if not 0 <= index < n_layer:
        raise ValueError(f"layer {layer} is outside the model's {n_layer} layers")
    return f"l_out-{index}"


class StateTap:
    """Copies chosen columns of named tensors out of each decode, while armed; a row's
    state is its columns of every named tensor, one after the other."""

    def __init__(self, llama_cpp: object, names: Sequence[str], outputs: Sequence[str]) -> None:
        self.names = [n.encode() for n in names]
        #: the tensors that hold only the output tokens' columns (the rest: every token's)
        self.outputs = {n.encode() for n in outputs}
        self._columns: dict[bytes, np.ndarray] | None = None
        self._taken: dict[bytes, np.ndarray] = {}
        self.callback = llama_cpp.ggml_backend_sched_eval_callback(self._on_tensor)  # type: ignore[attr-defined]

    def arm(self, batch_ends: Sequence[int]) -> None:
        """Copy at the next decode the columns of the batch positions `batch_ends` (each
        the last token of a row that asks for logits, in batch order)."""
        ends = np.asarray(batch_ends, dtype=np.int64)
        ranks = np.arange(len(ends))  # an outputs-only tensor has one column per output
        self._columns = {n: ranks if n in self.outputs else ends for n in self.names}
        self._taken = {}

    def take(self) -> np.ndarray:
        """The states copied at the last armed decode, one row per wanted position."""
        missing = [n.decode() for n in self.names if n not in self._taken]
        self._columns = None
        if missing:
            raise RuntimeError(f"the tensors {missing} were not computed")
        states = np.concatenate([self._taken.pop(n) for n in self.names], axis=1)
        return states

    def _on_tensor(self, tensor: int, ask: bool, _user: int) -> bool:
        if self._columns is None:
            return not ask  # nothing wanted: never split the graph
        t = _Tensor.from_address(tensor)
        columns = self._columns.get(t.name)
        if columns is None:
            return not ask
        if ask or t.type != GGML_TYPE_F32:
            return True
        width, n, stride = int(t.ne[0]), int(t.ne[1]), int(t.nb[1]) // 4
        flat = (ctypes.c_float * (stride * (n - 1) + width)).from_address(t.data)
        data = np.lib.stride_tricks.as_strided(
            np.frombuffer(flat, dtype=np.float32), shape=(n, width), strides=(stride * 4, 4)
        )
        self._taken[t.name] = data[columns].copy()
        return True
