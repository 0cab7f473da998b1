"""experiments.bench_throughput: XLA's FLOP count, the peak lookup, MFU arithmetic and one row."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import bench_throughput as bt
from experiments import build
from experiments.configs import ddpm_mnist, dit_mnist
from gen_jax.utils.cost import lowered_flops


def test_xla_flops_of_a_dense_layer_is_2_b_in_out():
    layer = nn.Dense(48, use_bias=False)
    x = jnp.ones((16, 32))
    p = layer.init(jax.random.PRNGKey(0), x)
    assert lowered_flops(jax.jit(layer.apply).lower(p, x)) == 2 * 16 * 32 * 48


def test_peak_lookup_by_device_kind():
    assert bt.peak_flops("NVIDIA H200") == 989e12
    assert bt.peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert bt.peak_flops("TPU v4") == 275e12
    assert bt.peak_flops("cpu") is None
    assert bt.peak_flops("cpu", 2.0) == 2e12


def test_bfloat16_compute_dtype_keeps_float32_params_and_output():
    c = dit_mnist.get_config("smoke")
    x, t, y = jax.random.normal(jax.random.PRNGKey(1), (2, 28, 28, 1)), jnp.array([3, 9]), jnp.array([1, 2])
    nets = {}
    for dtype in ("float32", "bfloat16"):
        c.model.dtype = dtype
        nets[dtype] = build.network(c, (28, 28, 1), 10)
    # parameters do not depend on the compute dtype: one init serves both
    p = jax.jit(nets["bfloat16"].init)(jax.random.PRNGKey(0), x, t, y)
    assert all(a.dtype == jnp.float32 for a in jax.tree.leaves(p))
    p = jax.tree.map(lambda a: a + 0.01, p)  # adaLN-Zero and the zero output layer would give 0
    outs = {k: jax.jit(net.apply)(p, x, t, y) for k, net in nets.items()}
    assert outs["bfloat16"].dtype == jnp.float32
    rel = float(jnp.linalg.norm(outs["bfloat16"] - outs["float32"]) / jnp.linalg.norm(outs["float32"]))
    assert 0 < rel < 0.05  # bf16 arithmetic really ran, and stays close


def test_bad_dtype_names_the_field():
    c = ddpm_mnist.get_config("smoke")
    c.model.dtype = "float16"
    with pytest.raises(ValueError, match="config.model.dtype"):
        build.network(c, (28, 28, 1), 10)


def test_one_row_counts_flops_and_mfu_consistently():
    row = bt.measure("dit_b2", "float32", batch_size=4, steps=2, repeats=1, sample_steps=2,
                     variant="smoke", peak_tflops=1.0)
    assert row["step_gflops"] > row["forward_gflops"] > 0  # backward + optimiser on top of a forward
    np.testing.assert_allclose(row["train_mfu"], row["step_gflops"] * 1e9 * row["train_steps_per_s"]
                               / (1e12 * row["devices"]), rtol=1e-9)
    assert row["train_images_per_s"] == pytest.approx(4 * row["train_steps_per_s"])
    assert row["sample_images_per_s"] > 0 and row["sample_mfu"] > 0
    md = bt.markdown([row])
    assert "| dit_b2 | float32 |" in md and "1 TFLOP/s" in md


def test_command_line_rejects_an_unknown_model(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "experiments.bench_throughput", "--models=unet_mnist,foo",
                        f"--out_dir={tmp_path}"], capture_output=True, text=True, cwd=repo, timeout=300)
    assert r.returncode != 0 and "--models: unknown ['foo']" in r.stderr
