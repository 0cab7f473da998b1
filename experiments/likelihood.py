"""Bits/dim of test images under a trained model's probability-flow ODE (dequantised inputs,
Hutchinson trace, adaptive Dopri5 on device).

python -m experiments.likelihood --workdir=runs/mnist --num=64 --data_dir=../shared/data
"""

from __future__ import annotations

import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags, logging
from tqdm.auto import tqdm

from experiments import cli
from experiments.sampling import load_objective_and_params
from gen_jax.data import load_dataset
from gen_jax.samplers.ode import bits_per_dim, log_likelihood

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _WORKDIR, _NUM, _BATCH, _SEED, _DATA_DIR, _RTOL
    _WORKDIR = flags.DEFINE_string("workdir", None, "Trained diffusion workdir.")
    _NUM = flags.DEFINE_integer("num", 64, "Test images to evaluate.")
    _BATCH = flags.DEFINE_integer("batch_size", 16, "Images per device call.")
    _SEED = flags.DEFINE_integer("seed", 0, "Seed of the dequantisation noise and Hutchinson probes.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the run's config).")
    _RTOL = flags.DEFINE_float("rtol", 1e-4, "ODE solver relative tolerance.")


def _check_flags() -> None:
    """Counts and tolerances at the boundary: 0 and negatives are values, not "unset"."""
    for name, value, ok, expected in [("--num", _NUM.value, _NUM.value >= 1, "an int >= 1"),
                                      ("--batch_size", _BATCH.value, _BATCH.value >= 1, "an int >= 1"),
                                      ("--rtol", _RTOL.value, _RTOL.value > 0, "a value > 0")]:
        if not ok:
            raise ValueError(f"{name}: expected {expected}, found {value!r}")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    _check_flags()
    c, objective, state, _ = load_objective_and_params(_WORKDIR.value)
    ds = load_dataset(c.data.name, _DATA_DIR.value or c.data.dir or None, "test")
    if _NUM.value > len(ds.images):
        raise ValueError(f"--num: expected at most the {len(ds.images)} test images of "
                         f"{c.data.name}, found {_NUM.value}")
    x = ds.images[: _NUM.value]
    labels = ds.labels[: _NUM.value] if objective.num_classes else None
    d = math.prod(x.shape[1:])

    @jax.jit
    def run(params, x, y, key):
        k_deq, k_tr = jax.random.split(key)
        x = x + jax.random.uniform(k_deq, x.shape, minval=0.0, maxval=2.0 / 256)  # dequantise

        def one(xi, yi, ki):  # the ODE is solved per sample: label and image travel together
            denoise = objective.denoiser(params, None if yi is None else yi[None], 1.0)
            return log_likelihood(denoise, objective.schedule, xi[None], ki, rtol=_RTOL.value,
                                  atol=_RTOL.value)[0]

        keys = jax.random.split(k_tr, x.shape[0])
        if y is None:
            return jax.vmap(lambda xi, ki: one(xi, None, ki))(x, keys)
        return jax.vmap(one)(x, y, keys)

    bpd = []
    key = jax.random.PRNGKey(_SEED.value)
    for i in tqdm(range(0, len(x), _BATCH.value), desc="likelihood"):
        xb = jnp.asarray(x[i:i + _BATCH.value])
        yb = jnp.asarray(labels[i:i + _BATCH.value]) if labels is not None else None
        bpd.append(np.asarray(bits_per_dim(run(state.ema_params, xb, yb, jax.random.fold_in(key, i)), d)))
    bpd = np.concatenate(bpd)
    out = {"bits_per_dim": float(bpd.mean()), "stderr": float(bpd.std() / np.sqrt(len(bpd))),
           "num": int(len(bpd)), "conditional": labels is not None, "dataset": c.data.name}
    with open(os.path.join(_WORKDIR.value, "likelihood.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"{out['bits_per_dim']:.3f} ± {out['stderr']:.3f} bits/dim over {out['num']} {c.data.name} "
          f"test images ({'class-conditional' if out['conditional'] else 'unconditional'})")


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["workdir"])
    cli.run(main)
