"""sr_mnist and video_mnist: the smoke variants train two steps through experiments.main."""

import os
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments import build
from experiments.configs import sr_mnist, video_mnist

DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))


def test_video_smoke_trains_two_steps(tmp_path):
    from experiments.train import run

    c = video_mnist.get_config("smoke")
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state.params))


@pytest.mark.skipif(not (DATA / "mnist").exists(), reason="needs ../shared/data/mnist")
def test_sr_smoke_trains_two_steps(tmp_path):
    from experiments.train import run

    c = sr_mnist.get_config("smoke")
    c.data.dir = str(DATA)
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2


@pytest.mark.parametrize("cfg,field,value,msg", [
    (sr_mnist, "objective.lowres_size", 5, "config.objective.lowres_size"),
    (sr_mnist, "objective.upsample", "lanczos", "config.objective.upsample"),
    (video_mnist, "objective.task_probs", (0.5, 0.5, 0.5), "config.objective.task_probs"),
])
def test_validate_names_bad_fields(cfg, field, value, msg):
    c = cfg.get_config("smoke")
    section, key = field.split(".")
    c[section][key] = value
    with pytest.raises(ValueError, match=msg):
        if field == "objective.lowres_size":
            build.objective(c, (8, 8, 1), 10)
        else:
            build.validate(c)
