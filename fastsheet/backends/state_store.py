"""How a row's state is kept beside its answer: the layer three quarters of the way up
(measured best for a learned head, bench/learn.py), through a fixed random projection to
KEPT_DIMS, as float16. 512 dimensions kept the head's figures (flag mean at 64 labels on
the Fast tier 0.635 against 0.633 for the full 896-dimensional state; 256 lost 0.03), at
1 KB a row: about 10 MB per 10,000 rows.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

KEPT_DIMS = 512
KEPT_DEPTH = 0.75  # of the layers, from the bottom


def kept_layer(n_layer: int) -> int:
    """The layer whose state is kept."""
    return round(KEPT_DEPTH * (n_layer - 1))


@lru_cache(maxsize=4)
def projection(width: int) -> np.ndarray:
    """The same Gaussian projection for every model of this width (seeded by it)."""
    rng = np.random.default_rng(width)
    return (rng.standard_normal((width, KEPT_DIMS)) / np.sqrt(KEPT_DIMS)).astype(np.float32)


def kept(state: np.ndarray) -> np.ndarray:
    """A state as it is kept: projected, float16."""
    state = np.asarray(state, dtype=np.float32)
    return (state @ projection(len(state))).astype(np.float16)
