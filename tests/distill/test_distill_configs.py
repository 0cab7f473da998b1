"""End-to-end: tiny teacher workdirs (a DDPM and a rectified flow, written at initialisation:
run.json + a checkpoint), their progressive and consistency students train two steps through
experiments.main (the :smoke configs), and sample from their workdirs."""

import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments import build, main, sampling
from experiments.configs import consistency_distill_mnist, default, progressive_distill_mnist, rf_default

from gen_jax.train import checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def teachers(tmp_path_factory):
    """Teacher workdirs as experiments.main leaves them (untrained: no step to compile)."""
    root = tmp_path_factory.mktemp("teachers")
    for name, cfg in (("ddpm", default), ("flow", rf_default)):
        c = cfg.get_config("smoke")
        ds = build.dataset(c)
        shape, classes = build.image_info(ds)
        objective = build.objective(c, shape, classes)
        build.save_run_info(str(root / name), c, shape, classes, ds.class_names)
        mngr = checkpoint.manager(str(root / name / "checkpoints"))
        checkpoint.save(mngr, objective.init(jax.random.PRNGKey(0)), wait=True)
    return root


def _student(cfg, teacher_wd, tmp_path, **fields):
    c = cfg.get_config("smoke")
    c.objective.teacher_workdir = str(teacher_wd)
    for k, v in fields.items():
        c.objective[k] = v
    wd = tmp_path / "student"
    state = main.run(c, str(wd), progress=False)
    assert int(state.step) == 2 and (wd / "samples.png").exists()
    return wd


def test_progressive_student_of_a_ddpm_samples_with_the_teachers_ddim(teachers, tmp_path):
    """Two 1-step rounds (4 -> 2 -> 1); the student's samples are DDIM samples of the student's
    parameters through the teacher's own objective (the same on-device sampler), bit for bit."""
    wd = _student(progressive_distill_mnist, teachers / "ddpm", tmp_path)
    _, student, state, _ = sampling.load_objective_and_params(str(wd))
    assert student.student_steps == 1 and student.student_steps_at(1) == 2
    labels = np.arange(6) % 10
    got = sampling.generate(student, state.ema_params, num=6, seed=0, sampler="ddim", num_steps=1,
                            labels=labels, progress=False)
    ref = sampling.generate(student.teacher.base, state.ema_params, num=6, seed=0, sampler="ddim",
                            num_steps=1, labels=labels, progress=False)
    np.testing.assert_array_equal(got, ref)


def test_consistency_student_of_a_flow_samples_from_the_command_line(teachers, tmp_path):
    wd = _student(consistency_distill_mnist, teachers / "flow", tmp_path)
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
