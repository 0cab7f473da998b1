"""Reflow (Liu et al. 2022, sec. 2.3): draw (noise z, sample x = ODE(z)) pairs from a trained
flow's workdir and write them as an .npz; a config with data.pairs set trains the next flow on them
(the batch then carries "noise": the flow loss uses the given z instead of fresh noise).

python -m experiments.reflow --workdir=runs/rf_mnist --num=10000 --steps=20 --sampler=heun
python -m experiments.main --config=experiments/configs/reflow_mnist.py --workdir=runs/rf2_mnist \
    --config.data.pairs=runs/rf_mnist/reflow_pairs.npz --config.data.dir=../shared/data
Pair b depends only on (seed, b): sample keys are fold_in(PRNGKey(seed), b).
"""

from __future__ import annotations

import os

from absl import app, flags, logging

from gen_jax.data.pairs import save_pairs
from gen_jax.flow.reflow import generate_pairs

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _WORKDIR, _NUM, _STEPS, _SAMPLER, _SEED, _BATCH, _OUT
    _WORKDIR = flags.DEFINE_string("workdir", None, "Trained flow (experiments.main workdir).")
    _NUM = flags.DEFINE_integer("num", 10000, "Pairs to draw.")
    _STEPS = flags.DEFINE_integer("steps", 20, "ODE solver steps per pair.")
    _SAMPLER = flags.DEFINE_string("sampler", "rf_euler",
                                   "Sampler of the pairs (any of gen_jax.samplers.SAMPLERS).")
    _SEED = flags.DEFINE_integer("seed", 0, "Pair b uses fold_in(PRNGKey(seed), b).")
    _BATCH = flags.DEFINE_integer("batch_size", 500, "Pairs per device call.")
    _OUT = flags.DEFINE_string("out", None, "Output .npz (default WORKDIR/reflow_pairs.npz).")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from experiments.sampling import load_objective_and_params

    c, objective, state, _ = load_objective_and_params(_WORKDIR.value)
    if c.objective.name not in ("rectified_flow", "diffusion"):
        raise app.UsageError(f"--workdir: reflow needs a flow (objective.name rectified_flow or "
                             f"diffusion), found {c.objective.name!r}")
    z, x, labels = generate_pairs(objective, state.ema_params, _NUM.value, sampler=_SAMPLER.value,
                                  num_steps=_STEPS.value, seed=_SEED.value, batch_size=_BATCH.value)
    out = _OUT.value or os.path.join(_WORKDIR.value, "reflow_pairs.npz")
    save_pairs(out, z, x, labels, c.data.name, getattr(objective, "num_classes", None))
    print(f"wrote {out}: {len(z)} pairs ({_SAMPLER.value}, {_STEPS.value} steps)")


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["workdir"])
    app.run(main)
