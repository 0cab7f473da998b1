"""Golden checkpoints (written by make_golden.py before the objective/sampler layer was rebuilt)
still load through the workdir API and reproduce their stored samples to 1e-5."""

import json
import tarfile

import jax
import numpy as np
import pytest

from experiments.sampling import load_objective_and_params

# names the golden files were written with -> today's registry name
RENAMED = {("rf", "euler"): "rf_euler", ("rf", "heun"): "rf_heun"}


@pytest.mark.parametrize("run", ["ddpm", "rf", "gan"])
def test_golden_checkpoint_reproduces_samples(run, tmp_path):
    with tarfile.open(f"{__file__.rsplit('/', 1)[0]}/{run}.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    spec = json.loads((tmp_path / "golden.json").read_text())
    expected = np.load(tmp_path / "samples.npz")
    _, objective, state, _ = load_objective_and_params(str(tmp_path))
    num = spec["num"]
    labels = (np.arange(num) % objective.num_classes).astype(np.int32) if objective.num_classes else None
    for name, kw in spec["samplers"].items():
        kw = dict(kw)
        seed = kw.pop("seed")
        if "sampler" in kw:
            kw["sampler"] = RENAMED.get((run, kw["sampler"]), kw["sampler"])
        x = objective.sample(state.ema_params, jax.random.PRNGKey(seed), num, labels=labels, **kw)
        np.testing.assert_allclose(np.asarray(x), expected[name], atol=1e-5, rtol=0, err_msg=f"{run}/{name}")
