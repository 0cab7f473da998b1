"""bench_gan --mode=speed: images/s of the DCGAN generator against the DDPM U-Net under its
samplers, freshly initialised weights (experiments/bench_gan.py says what it writes)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from absl import app

from experiments import bench_common as bc
from experiments import build
from experiments import sampling as sample_lib
from experiments.bench_gan_common import MNIST_CLASSES, MNIST_SHAPE, load_config
from gen_jax.train import sharding


def _num_params(tree) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree.leaves(tree)))


def speed(out_dir: str, batch_size: int = 64, repeats: int = 3,
          diffusion=(("ddpm", 1000), ("ddim", 10)), variant: str = "") -> dict:
    mesh = sharding.make_mesh()
    bs = -(-batch_size // mesh.devices.size) * mesh.devices.size
    keys = sharding.put_batch(sample_lib.sample_keys(0, 0, bs), mesh)
    key = jax.random.PRNGKey(0)
    repl = sharding.replicated(mesh)

    def row(model, config, sampler, steps, params, sec):
        return {"model": model, "config": config, "sampler": sampler, "steps": steps,
                "network_calls": steps, "params": _num_params(params), "sec_per_batch": sec,
                "images_per_sec": bs / sec}

    c = load_config("dcgan", variant)
    gan = build.objective(c, MNIST_SHAPE, None)
    g_params = jax.jit(gan.init, out_shardings=repl)(key).ema_params
    fn = jax.jit(lambda p, k: gan.sample(p, k), out_shardings=sharding.batch_sharding(mesh))
    rows = [row("DCGAN generator", "dcgan_mnist", "G(z)", 1, g_params,
                sample_lib.time_call(fn, g_params, keys, repeats=repeats))]

    c = load_config("ddpm", variant)
    ddpm = build.objective(c, MNIST_SHAPE, MNIST_CLASSES)
    d_params = jax.jit(ddpm.init, out_shardings=repl)(key).ema_params
    labels = sharding.put_batch((np.arange(bs) % MNIST_CLASSES).astype(np.int32), mesh)
    z = jnp.zeros(MNIST_SHAPE)
    T = ddpm.schedule.num_timesteps
    fns = {}
    for name, steps in diffusion:
        if not 1 <= steps <= T:
            raise app.UsageError(f"--diffusion {name}:{steps}: steps must be in [1, T={T}]")
        if name not in fns:  # one compilation per sampler: the step count is a runtime value
            fns[name] = sample_lib.sampler_fn(ddpm, name, c.sampler.spacing, conditional=True, mesh=mesh)
        call = lambda n, run=fns[name]: run(d_params, keys, labels, jnp.int32(n),  # noqa: E731
                                            jnp.float32(0.0), jnp.float32(1.0), z, z, jnp.float32(0.0))
        jax.block_until_ready(call(1))  # compiles (the first time), then a 1-step call
        sec = sample_lib.time_call(call, steps, repeats=repeats, warmup=False)
        rows.append(row("DDPM U-Net", "ddpm_mnist", name, steps, d_params, sec))
    gan_ips = rows[0]["images_per_sec"]
    for r in rows:
        r["gan_speedup"] = gan_ips / r["images_per_sec"]
    meta = {"batch_size": bs, "repeats": repeats, "variant": variant,
            "weights": "freshly initialised (throughput does not depend on the weights' values; "
                       "nothing was trained)", **bc.run_info()}
    results = {"meta": meta, "rows": rows}
    bc.write_results(out_dir, "speed", results, speed_markdown(results))
    return results


def speed_markdown(results) -> str:
    meta = results["meta"]
    table = bc.markdown_table(results["rows"], [
        ("model", "model"), ("sampler", "sampler"), ("steps", "steps"),
        ("params", "params", lambda n: f"{n / 1e6:.2f}M"), ("s / batch", "sec_per_batch", "{:.4g}"),
        ("images/s", "images_per_sec", "{:.4g}"), ("GAN / this (×)", "gan_speedup", "{:.4g}")])
    return (f"{table}\n\nBatch {meta['batch_size']}, median of {meta['repeats']} calls after "
            f"compilation, on {meta['hardware']}; weights {meta['weights']}.\n\n")
