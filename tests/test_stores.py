"""The kernels' non-temporal stores (stress.kernels.stores) write what ordinary stores write."""

from __future__ import annotations

import numpy as np
from numba import njit

from stress.kernels.stores import store_fence, stream_store


@njit(cache=True)
def _streamed(values: np.ndarray, out: np.ndarray) -> None:
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            stream_store(out, i, j, values[i, j])
    store_fence()


def test_streamed_values_are_the_values_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    values = rng.standard_normal((5, 37))
    values[0, :4] = [np.nan, np.inf, -0.0, 5e-324]  # NaN, infinity, signed zero, subnormal
    out = np.full((5, 37), 1.0)
    _streamed(values, out)
    assert out.tobytes() == values.tobytes()
