"""End-to-end: a tiny DDPM teacher workdir (default.py:smoke written at initialisation: run.json +
a checkpoint), its progressive and consistency students train two steps through experiments.main
(the :smoke configs), and sample from their workdirs. (Flow teachers go through the same code;
tests/distill/test_progressive.py and test_consistency.py train students of both kinds.)"""

import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments import build, main, sampling
from experiments.workdir import save_run_info
from experiments.configs import consistency_distill_mnist, default, progressive_distill_mnist

from gen_jax.train import checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A teacher workdir as experiments.main leaves it (untrained: no train step to compile)."""
    wd = tmp_path_factory.mktemp("teacher")
    c = default.get_config("smoke")
    ds = build.dataset(c)
    shape, classes = build.image_info(ds)
    objective = build.objective(c, shape, classes)
    save_run_info(str(wd), c, shape, classes, ds.class_names)
    checkpoint.save(checkpoint.manager(str(wd / "checkpoints")), objective.init(jax.random.PRNGKey(0)),
                    wait=True)
    return wd


def _student(cfg, teacher_wd, tmp_path, **fields):
    c = cfg.get_config("smoke")
    c.objective.teacher_workdir = str(teacher_wd)
    for k, v in fields.items():
        c.objective[k] = v
    wd = tmp_path / "student"
    state = main.run(c, str(wd), progress=False)
    assert int(state.step) == 2 and (wd / "samples.png").exists()
    return wd


def test_progressive_student_samples_with_the_teachers_ddim(teacher, tmp_path):
    """Two 1-step rounds (4 -> 2 -> 1); the student's samples are DDIM samples of the student's
    parameters through the teacher's own objective (the same on-device sampler), bit for bit."""
    wd = _student(progressive_distill_mnist, teacher, tmp_path)
    _, student, state, _ = sampling.load_objective_and_params(str(wd))
    assert student.student_steps == 1 and student.student_steps_at(1) == 2
    labels = np.arange(6) % 10
    got = sampling.generate(student, state.ema_params, num=6, seed=0, sampler="ddim", num_steps=1,
                            labels=labels, progress=False)
    ref = sampling.generate(student.teacher.base, state.ema_params, num=6, seed=0, sampler="ddim",
                            num_steps=1, labels=labels, progress=False)
    np.testing.assert_array_equal(got, ref)


def test_consistency_student_samples_from_the_command_line(teacher, tmp_path):
    """experiments.sample on the student's workdir: 2-step consistency sampling, uint8 images."""
    wd = _student(consistency_distill_mnist, teacher, tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "experiments.sample", f"--workdir={wd}", "--steps=2",
                        "--num=4", "--out=s.npz"], capture_output=True, text=True, cwd=REPO, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    images = np.load(wd / "s.npz")["images"]
    assert images.shape == (4, 8, 8, 1) and images.dtype == np.uint8


@pytest.mark.parametrize("cfg,field,value", [
    (progressive_distill_mnist, "teacher_steps", 6),
    (consistency_distill_mnist, "loss", "lpips"),
    (consistency_distill_mnist, "teacher_workdir", ""),
])
def test_bad_distill_fields_are_named(cfg, field, value):
    c = cfg.get_config("smoke")
    c.objective.teacher_workdir = "somewhere"
    c.objective[field] = value
    with pytest.raises(ValueError, match=f"config.objective.{field}"):
        build.validate(c)
