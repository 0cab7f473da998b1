"""Edge agreement: identical maps score 1, a one-pixel shift scores 1 only with tolerance 1."""

import jax.numpy as jnp
import numpy as np

from gen_jax.metrics.edge_agreement import edge_f1, iou


def test_identical_shifted_and_empty_maps():
    ref = jnp.zeros((1, 8, 8, 1)).at[0, :, 3, 0].set(1.0)  # a vertical line
    shifted = jnp.roll(ref, 1, axis=2)
    half = ref.at[0, :4, 3, 0].set(0.0)                      # the top half of the line missing
    p, r, f = edge_f1(ref, ref, tolerance=0)
    assert (float(p[0]), float(r[0]), float(f[0]), float(iou(ref, ref)[0])) == (1.0, 1.0, 1.0, 1.0)
    assert float(edge_f1(shifted, ref, tolerance=0)[2][0]) == 0.0 and float(iou(shifted, ref)[0]) == 0.0
    assert float(edge_f1(shifted, ref, tolerance=1)[2][0]) == 1.0
    p, r, f = edge_f1(half, ref, tolerance=0)                # precision 1, recall 1/2, F1 2/3
    np.testing.assert_allclose([p[0], r[0], f[0], iou(half, ref)[0]], [1.0, 0.5, 2 / 3, 0.5], rtol=1e-6)
    empty = jnp.zeros_like(ref)
    assert float(edge_f1(empty, ref)[2][0]) == 0.0 and float(iou(empty, empty)[0]) == 0.0
