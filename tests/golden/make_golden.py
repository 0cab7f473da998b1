"""Write the golden checkpoints and samples that guard refactors of the layer above the maths.

Trains three tiny runs (a DDPM and a rectified flow on the embedded digits, a DCGAN on MNIST) for
a few steps, keeps each run's run.json and checkpoint, and stores samples at fixed seeds for two
samplers each. tests/golden/test_golden.py checks that these checkpoints still load and reproduce
the samples to 1e-5. Rerun only to replace the golden files on purpose:

PYTHONPATH=. python tests/golden/make_golden.py --data_dir=../shared/data
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tarfile

import jax
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

SMALL_UNET = {"model.channels": 4, "model.channel_mult": (1, 2), "model.attention_resolutions": ()}
# run name -> (config module, variant overrides, [(sampler name, sample kwargs)])
RUNS = {
    "ddpm": ("default", SMALL_UNET, [("ddim", dict(sampler="ddim", num_steps=5, eta=0.0)),
                             ("dpm_solver_pp_2m", dict(sampler="dpm_solver_pp_2m", num_steps=4))]),
    "rf": ("rf_default", SMALL_UNET, [("euler", dict(sampler="euler", num_steps=4)),
                              ("heun", dict(sampler="heun", num_steps=3))]),
    "gan": ("dcgan_mnist", {"model.channels": 4}, [("generator", {}), ("generator_seed1", {})]),
}
NUM = 4


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data_dir", default="../shared/data")
    args = p.parse_args()
    import importlib

    from experiments.main import run
    from experiments.sampling import load_objective_and_params

    for name, (module, overrides, samplers) in RUNS.items():
        c = importlib.import_module(f"experiments.configs.{module}").get_config("smoke")
        for field, value in overrides.items():
            section, key = field.split(".")
            c[section][key] = value
        c.data.dir = args.data_dir if c.data.name != "digits" else ""
        c.train.num_final_samples = 0
        c.train.steps = 3
        c.train.ckpt_every = 3
        workdir = os.path.join(HERE, name)
        shutil.rmtree(workdir, ignore_errors=True)
        run(c, workdir, progress=False)
        shutil.rmtree(os.path.join(workdir, "logs"), ignore_errors=True)
        c2, objective, state, _ = load_objective_and_params(workdir)
        out = {}
        for label, kw in samplers:
            seed = 1 if label.endswith("seed1") else 0
            labels = (np.arange(NUM) % objective.num_classes).astype(np.int32) if objective.num_classes else None
            x = objective.sample(state.ema_params, jax.random.PRNGKey(seed), NUM, labels=labels, **kw)
            out[label] = np.asarray(x, np.float32)
        np.savez(os.path.join(workdir, "samples.npz"), **out)
        with open(os.path.join(workdir, "golden.json"), "w") as f:
            json.dump({"num": NUM, "samplers": {k: {**v, "seed": 1 if k.endswith("seed1") else 0}
                                                 for k, v in samplers}}, f, indent=1)
        # orbax's JSON metadata is most of a checkpoint's bytes: a tarball keeps the files small
        with tarfile.open(os.path.join(HERE, f"{name}.tar.gz"), "w:gz") as tar:
            for member in ("run.json", "checkpoints", "samples.npz", "golden.json"):
                tar.add(os.path.join(workdir, member), arcname=member)
        shutil.rmtree(workdir)
        print(name, {k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    main()
