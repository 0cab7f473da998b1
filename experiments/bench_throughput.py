"""Training and sampling throughput, with model FLOPs utilisation (MFU) from XLA's cost analysis.

python -m experiments.bench_throughput --models=unet_mnist,unet_cifar10,dit_b2 \
    --dtypes=float32,bfloat16 --out_dir=runs/bench_throughput

For each (model, dtype) on all local devices (batch sharded on the mesh's data axis, as in
training): the jitted, donated train step of the DDPM objective (steps/s, images/s), one network
call (images/s) and a DDIM sampler at --sample_steps network calls (images/s). FLOPs come from
XLA's cost analysis of the step and of one network call, lowered before partitioning, so they
count the whole global batch; MFU = FLOPs × calls/s / (peak × devices), against the chip's dense
bf16 peak (--peak_tflops, else looked up from the device kind; n/a on CPU) for float32 rows too.
The sampler's FLOPs are taken as NFE × one call (XLA counts a loop body once). Parameters are
freshly initialised and the inputs random: throughput does not depend on their values, so no data
directory is needed. bfloat16 is the compute dtype (model.dtype); parameters, optimiser state and
the loss stay float32. Writes results.json and results.md under --out_dir.
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from experiments import bench_common as bc
from experiments import build
from experiments.configs import ddpm_cifar10, ddpm_mnist, dit_mnist
from experiments.sampling import sample_keys, sampler_fn, time_call
from gen_jax.train import sharding
from gen_jax.utils.cost import lowered_flops

# Dense bf16 peak per chip, TFLOP/s (vendor figures, without sparsity).
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "TPU v4": 275.0,
               "TPU v5 lite": 197.0, "TPU v5e": 197.0, "TPU v5p": 459.0, "TPU v6 lite": 918.0,
               "TPU v6e": 918.0}


def dit_b2_config(variant: str = ""):
    """DiT-B/2 (Peebles & Xie 2023: depth 12, width 768, 12 heads, patch 2) as a class-conditional
    DDPM backbone on 32x32 RGB."""
    c = dit_mnist.get_config(variant)
    c.data.name = "cifar10"
    if not variant:
        c.model.depth, c.model.hidden_size, c.model.num_heads, c.model.patch_size = 12, 768, 12, 2
    return c


# name -> (config factory taking the variant, image shape, classes)
MODELS = {"unet_mnist": (ddpm_mnist.get_config, (28, 28, 1), 10),
          "unet_cifar10": (ddpm_cifar10.get_config, (32, 32, 3), 10),
          "dit_b2": (dit_b2_config, (32, 32, 3), 10)}

def peak_flops(device_kind: str, override_tflops: float = 0.0) -> float | None:
    """Dense bf16 peak FLOP/s of one device: the override, else PEAK_TFLOPS by device kind."""
    if override_tflops:
        return override_tflops * 1e12
    for name, tflops in PEAK_TFLOPS.items():
        if name.lower() in device_kind.lower():
            return tflops * 1e12
    return None


def measure(name: str, dtype: str, *, batch_size: int, steps: int, repeats: int, sample_steps: int,
            variant: str = "", peak_tflops: float = 0.0, mesh=None) -> dict:
    """One row: train / forward / sampler throughput and MFU of MODELS[name] in `dtype`."""
    make_config, image_shape, num_classes = MODELS[name]
    c = make_config(variant)
    c.model.dtype = dtype
    c.optim.warmup_steps = 0
    objective = build.objective(c, image_shape, num_classes)
    mesh = mesh or sharding.make_mesh()
    sharding.check_batch_size(batch_size, mesh)
    n_dev = mesh.devices.size
    repl, batch_sh = sharding.replicated(mesh), sharding.batch_sharding(mesh)
    rng = np.random.default_rng(0)
    batch = sharding.put_batch({"image": rng.uniform(-1, 1, (batch_size, *image_shape)).astype(np.float32),
                                "label": rng.integers(0, num_classes, batch_size).astype(np.int32)}, mesh)

    init = jax.jit(objective.init, out_shardings=repl)
    state = init(jax.random.PRNGKey(0))
    n_params = int(sum(np.prod(x.shape) for x in jax.tree.leaves(state.params)))
    step_fn = jax.jit(objective.step, in_shardings=(repl, batch_sh), out_shardings=(repl, repl),
                      donate_argnums=0)
    t0 = time.perf_counter()
    lowered = step_fn.lower(state, batch)
    step_flops = lowered_flops(lowered)
    step_fn = lowered.compile()
    compile_s = time.perf_counter() - t0
    for _ in range(2):
        state, metrics = step_fn(state, batch)
    jax.block_until_ready(metrics)
    t0 = time.perf_counter()
    for _ in range(steps):
        state, metrics = step_fn(state, batch)
    jax.block_until_ready(metrics)
    steps_per_s = steps / (time.perf_counter() - t0)

    # one network call on the same batch (a forward pass of the backbone, in the compute dtype)
    model = objective.model
    fwd = jax.jit(lambda p, x, t, y: model.apply({"params": p}, x, t, y), out_shardings=batch_sh)
    t_in = sharding.put_batch(rng.integers(0, c.objective.num_timesteps, batch_size).astype(np.int32), mesh)
    args = (state.ema_params, batch["image"], t_in, batch["label"])
    fwd_flops = lowered_flops(fwd.lower(*args))
    fwd_s = time_call(fwd, *args, repeats=repeats)

    row = {"model": name, "dtype": dtype, "params": n_params, "batch": batch_size, "devices": n_dev,
           "device_kind": jax.devices()[0].device_kind, "compile_s": compile_s,
           "step_gflops": step_flops / 1e9, "train_steps_per_s": steps_per_s,
           "train_images_per_s": steps_per_s * batch_size, "forward_gflops": fwd_flops / 1e9,
           "forward_images_per_s": batch_size / fwd_s, "sample_steps": sample_steps}
    if sample_steps:
        fn = sampler_fn(objective, "ddim", conditional=True, mesh=mesh)
        keys = sharding.put_batch(sample_keys(0, 0, batch_size), mesh)
        zeros = jnp.zeros(image_shape)
        sample_s = time_call(fn, state.ema_params, keys, batch["label"], jnp.int32(sample_steps),
                          jnp.float32(0.0), jnp.float32(1.0), zeros, zeros, jnp.float32(0.0),
                          repeats=max(1, repeats // 2))
        row["sample_images_per_s"] = batch_size / sample_s
    peak = peak_flops(row["device_kind"], peak_tflops)
    row["peak_tflops_per_device"] = peak / 1e12 if peak else None
    if peak:
        row["train_mfu"] = step_flops * steps_per_s / (peak * n_dev)
        row["forward_mfu"] = fwd_flops / fwd_s / (peak * n_dev)
        if sample_steps:
            row["sample_mfu"] = sample_steps * fwd_flops / sample_s / (peak * n_dev)
    return row


def markdown(rows) -> str:
    pct = lambda v: f"{100 * v:.1f} %"  # noqa: E731
    table = bc.markdown_table(rows, [
        ("model", "model"), ("dtype", "dtype"), ("params", "params", lambda n: f"{n / 1e6:.2f} M"),
        ("batch", "batch"), ("train steps/s", "train_steps_per_s", "{:.2f}"),
        ("train img/s", "train_images_per_s", "{:.0f}"), ("train MFU", "train_mfu", pct),
        ("forward img/s", "forward_images_per_s", "{:.0f}"), ("forward MFU", "forward_mfu", pct),
        ("DDIM img/s (NFE)", lambda r: (f"{r['sample_images_per_s']:.1f} ({r['sample_steps']})"
                                        if r.get("sample_steps") else None)),
        ("step GFLOP", "step_gflops", "{:.1f}")], missing="n/a")
    r0 = rows[0] if rows else {}
    peak = r0.get("peak_tflops_per_device")
    return (f"{table}\n\nHardware: {r0.get('devices')} × {r0.get('device_kind')}; MFU against "
            + (f"{peak:.0f} TFLOP/s dense bf16 per device." if peak else "no known peak (n/a).") + "\n")


def main(argv):
    del argv
    F = flags.FLAGS
    unknown = [m for m in F.models if m not in MODELS]
    if unknown:
        raise app.UsageError(f"--models: unknown {unknown}; expected names from {list(MODELS)}")
    bad = [d for d in F.dtypes if d not in build.DTYPES]
    if bad:
        raise app.UsageError(f"--dtypes: unknown {bad}; expected names from {list(build.DTYPES)}")
    os.makedirs(F.out_dir, exist_ok=True)
    rows = []
    for name in F.models:
        for dtype in F.dtypes:
            row = measure(name, dtype, batch_size=F.batch_size, steps=F.steps,
                          repeats=F.repeats, sample_steps=F.sample_steps,
                          variant=F.variant, peak_tflops=F.peak_tflops)
            rows.append(row)
            print(json.dumps(row), flush=True)
            bc.write_results(F.out_dir, "results", rows, markdown(rows))
    print(markdown(rows))


def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other benches that define flags of the same names."""
    flags.DEFINE_list("models", list(MODELS), f"Rows to measure, from {list(MODELS)}.")
    flags.DEFINE_list("dtypes", ["float32", "bfloat16"], "Compute dtypes (model.dtype).")
    flags.DEFINE_integer("batch_size", 128, "Global batch of every call.")
    flags.DEFINE_integer("steps", 20, "Timed train steps (after two untimed ones).")
    flags.DEFINE_integer("repeats", 5, "Timed network / sampler calls (median).")
    flags.DEFINE_integer("sample_steps", 50, "DDIM steps of the sampler row (0: skip).")
    flags.DEFINE_float("peak_tflops", 0.0, "Dense bf16 peak per device, TFLOP/s (0: look up "
                      "the device kind in PEAK_TFLOPS; none on CPU).")
    flags.DEFINE_enum("variant", "", ["", "smoke"], "Config variant (smoke: tiny, for tests).")
    flags.DEFINE_string("out_dir", "runs/bench_throughput", "Where results.{json,md} go.")


if __name__ == "__main__":
    define_flags()
    app.run(main)
