"""Sample from a trained workdir into an .npz (uint8 images [N,H,W,C], labels) and a PNG grid.

python -m experiments.sample --workdir=runs/mnist --sampler=ddim --steps=50 --eta=0 \
    --num=10000 --seed=0 --out=samples.npz

Sample i is drawn from key fold_in(PRNGKey(seed), i): the same seed gives the same samples
whatever the batch size or device count. A relative --out is placed inside --workdir.
"""

from __future__ import annotations

import os
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging
from tqdm.auto import tqdm

from experiments import build
from gen_jax.samplers import SAMPLERS
from gen_jax.samplers.common import SPACINGS
from gen_jax.train import checkpoint, sharding
from gen_jax.utils.images import save_grid, to_uint8

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (run.json + checkpoints/).")
_SAMPLER = flags.DEFINE_enum("sampler", "ddim", list(SAMPLERS), "Sampler.")
_STEPS = flags.DEFINE_integer("steps", None, "Network calls (default: T for ddpm, config for ddim).")
_ETA = flags.DEFINE_float("eta", 0.0, "DDIM eta.")
_SPACING = flags.DEFINE_enum("spacing", "trailing", list(SPACINGS), "Timestep spacing.")
_NUM = flags.DEFINE_integer("num", 100, "Number of samples.")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_BATCH = flags.DEFINE_integer("batch_size", 500, "Samples per device call (global).")
_OUT = flags.DEFINE_string("out", "samples.npz", "Output .npz (relative paths go in --workdir).")
_CLASS = flags.DEFINE_integer("class", None, "Class label for all samples (conditional models; "
                              "default: labels cycle through the classes).")
_GUIDANCE = flags.DEFINE_float("guidance", 1.0, "Classifier-free guidance scale w: 0 unconditional, "
                                "1 conditional (default), >1 guided.")
_STEP = flags.DEFINE_integer("checkpoint_step", None, "Checkpoint step (default: latest).")
flags.mark_flags_as_required(["workdir"])


def load_objective_and_params(workdir: str, step: int | None = None):
    """Rebuild the objective from workdir/run.json and restore the EMA parameters."""
    c, image_shape, num_classes, class_names = build.load_run_info(workdir)
    objective = build.objective(c, image_shape, num_classes)
    mesh = sharding.make_mesh()
    repl = sharding.replicated(mesh)
    abstract = jax.eval_shape(objective.init, jax.random.PRNGKey(0))
    abstract = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=repl), abstract)
    mngr = checkpoint.manager(os.path.join(workdir, "checkpoints"))
    state = checkpoint.restore(mngr, abstract, step)
    if state is None:
        raise FileNotFoundError(f"no checkpoint in {os.path.join(workdir, 'checkpoints')}: train first")
    return c, objective, state, class_names


def sampler_fn(objective, sampler: str, spacing: str = "trailing", conditional: bool = False,
               mesh=None, on_trace=None):
    """A jitted fn(params, keys [B,2], labels [B], num_steps, eta, guidance) -> images [B,H,W,C].

    num_steps, eta and guidance are runtime values: one compilation per batch shape serves a whole
    sweep. on_trace() is called each time JAX traces (i.e. compiles) the function."""
    mesh = mesh or sharding.make_mesh()

    @partial(jax.jit, out_shardings=sharding.batch_sharding(mesh))
    def run(params, keys, labels, num_steps, eta, guidance):
        if on_trace is not None:
            on_trace()
        return objective.sample(params, keys, sampler=sampler, num_steps=num_steps, eta=eta,
                                labels=labels if conditional else None, guidance=guidance,
                                spacing=spacing)

    return run


def sample_keys(seed: int, start: int, count: int):
    """Per-sample keys fold_in(PRNGKey(seed), i) for i in [start, start + count)."""
    base = jax.random.PRNGKey(seed)
    return np.asarray(jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(start, start + count)))


def generate(objective, params, *, num: int, seed: int, sampler: str, num_steps: int, eta: float = 0.0,
             spacing: str = "trailing", labels=None, guidance: float = 1.0, batch_size: int = 500,
             progress: bool = True, fn=None, on_batch=None):
    """All samples as uint8 [num, H, W, C], in batches of batch_size (rounded up to the device
    count; the last batch is padded, then cut). fn: a prebuilt sampler_fn to reuse its
    compilation; on_batch(seconds, batch): called with each batch's wall time."""
    mesh = sharding.make_mesh()
    bs = min(batch_size, num)
    bs = -(-bs // mesh.devices.size) * mesh.devices.size
    fn = fn or sampler_fn(objective, sampler, spacing, labels is not None, mesh)
    out = []
    for start in tqdm(range(0, num, bs), desc=f"{sampler}-{num_steps}", disable=not progress, leave=False):
        idx = np.arange(start, start + bs)
        lab = labels[np.minimum(idx, num - 1)] if labels is not None else np.zeros((bs,), np.int32)
        keys = sharding.put_batch(sample_keys(seed, start, bs), mesh)
        lab = sharding.put_batch(np.asarray(lab, np.int32), mesh)
        t0 = time.perf_counter()
        x = jax.block_until_ready(fn(params, keys, lab, jnp.int32(num_steps), jnp.float32(eta),
                                     jnp.float32(guidance)))
        if on_batch is not None:
            on_batch(time.perf_counter() - t0, bs)
        out.append(to_uint8(jax.device_get(x))[: num - start])
    return np.concatenate(out)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    workdir = _WORKDIR.value
    c, objective, state, class_names = load_objective_and_params(workdir, _STEP.value)
    T = objective.schedule.num_timesteps
    steps = _STEPS.value or (T if _SAMPLER.value == "ddpm" else c.sampler.num_steps)
    if not 1 <= steps <= T:
        raise app.UsageError(f"--steps must be in [1, {T}], got {steps}")
    labels = None
    if objective.num_classes:
        k = objective.num_classes
        if _CLASS.value is not None and not 0 <= _CLASS.value < k:
            raise app.UsageError(f"--class must be in [0, {k - 1}], got {_CLASS.value}")
        labels = (np.full(_NUM.value, _CLASS.value, np.int32) if _CLASS.value is not None
                  else (np.arange(_NUM.value) % k).astype(np.int32))
    elif _CLASS.value is not None or _GUIDANCE.value != 1.0:
        raise app.UsageError("--class/--guidance need a class-conditional model")
    images = generate(objective, state.ema_params, num=_NUM.value, seed=_SEED.value,
                      sampler=_SAMPLER.value, num_steps=steps, eta=_ETA.value,
                      spacing=_SPACING.value, labels=labels, guidance=_GUIDANCE.value,
                      batch_size=_BATCH.value)
    out = _OUT.value if os.path.isabs(_OUT.value) else os.path.join(workdir, _OUT.value)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    arrays = {"images": images}
    if labels is not None:
        arrays["labels"] = labels
    np.savez(out, **arrays)
    grid = os.path.splitext(out)[0] + ".png"
    n = min(100, len(images))
    ncols = objective.num_classes if labels is not None and n % objective.num_classes == 0 else None
    save_grid(grid, images[:n], ncols=ncols)
    print(f"wrote {out} ({images.shape}) and {grid}")


if __name__ == "__main__":
    app.run(main)
