"""Reliability of experiments.main and experiments.likelihood from the command line: one-line
errors with exit codes, the workdir lock, SIGTERM -> checkpoint -> resume equals uninterrupted,
resume checks before run.json, and a GAN driven to inf stopped before any bad checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments import resume
from experiments.configs import dcgan_mnist, default
from gen_jax.train import checkpoint, lock
from gen_jax.train.logging import read_metrics
from gen_jax.train.loop import DivergenceError

REPO = Path(__file__).resolve().parents[2]
SMOKE = "--config=experiments/configs/default.py:smoke"


def _cmd(*args):
    return [sys.executable, "-m", *args]


def _env(tmp_path):
    return dict(os.environ, PYTHONPATH=str(REPO), GEN_JAX_LOG_DIR=str(tmp_path / "cli_logs"))


def _run(tmp_path, *args):
    return subprocess.run(_cmd(*args), capture_output=True, text=True, cwd=REPO,
                          env=_env(tmp_path), timeout=600)


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def test_usage_errors_are_one_line_with_exit_code_2(tmp_path):
    wd = tmp_path / "w"
    r = _run(tmp_path, "experiments.main", SMOKE, f"--workdir={wd}", "--config.train.keep_checkpoints=-1")
    assert r.returncode == 2, r.stderr[-3000:]
    line = _one_line(r.stderr)
    assert line.startswith("error: config.train.keep_checkpoints: expected an int >= 1, found -1")
    log = line.split("[details: ")[1].rstrip("]")
    assert "Traceback" in Path(log).read_text()  # the traceback went to the log file
    assert not (wd / "run.json").exists() and not (wd / "checkpoints").exists()
    r = _run(tmp_path, "experiments.likelihood", f"--workdir={wd}", "--num=-359", "--verbose")
    assert r.returncode == 2, r.stderr[-3000:]
    assert r.stderr.startswith("Traceback")  # --verbose: the traceback, then the same one line
    assert r.stderr.strip().splitlines()[-1].startswith("error: --num: expected an int >= 1, found -359")


def test_a_second_run_on_a_workdir_in_use_fails_in_one_line_and_writes_nothing(tmp_path):
    wd = tmp_path / "w"
    with lock.hold(str(wd)):  # this test process is the live holder
        r = _run(tmp_path, "experiments.main", SMOKE, f"--workdir={wd}")
    assert r.returncode == 1, r.stderr[-3000:]
    line = _one_line(r.stderr)
    assert f"workdir {wd} is in use by another run (pid {os.getpid()} on host" in line
    assert sorted(os.listdir(wd)) == []  # the holder released LOCK; the second run wrote nothing


def test_sigterm_saves_the_current_step_and_the_resumed_run_equals_an_uninterrupted_one(tmp_path):
    from experiments.train import run

    steps = 150
    wd = tmp_path / "pre"
    p = subprocess.Popen(_cmd("experiments.main", SMOKE, f"--workdir={wd}",
                              f"--config.train.steps={steps}", "--config.train.ckpt_every=1000",
                              "--config.train.num_final_samples=0"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                         env=_env(tmp_path))
    metrics = wd / "logs" / "metrics.jsonl"
    deadline = time.time() + 500
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
        assert p.poll() is None and time.time() < deadline, p.communicate()[1][-3000:]
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 128 + signal.SIGTERM, err[-3000:]
    line = err.strip().splitlines()[-1]
    stopped = int(line.split("SIGTERM at step ")[1].split(":")[0])
    assert line.startswith(f"interrupted: SIGTERM at step {stopped}: saved a checkpoint at step {stopped}")
    assert 2 <= stopped < steps
    assert checkpoint.manager(str(wd / "checkpoints")).all_steps() == [stopped]
    assert not (wd / "LOCK").exists()

    c = default.get_config("smoke")
    c.train.steps, c.train.ckpt_every, c.train.num_final_samples = steps, 1000, 0
    resumed = run(c, str(wd), progress=False)
    full = run(c, str(tmp_path / "full"), progress=False)
    for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [m["step"] for m in read_metrics(str(wd / "logs"))] == list(range(1, steps + 1))


def test_a_resume_with_another_config_names_the_fields_and_leaves_run_json_alone(tmp_path):
    from experiments.train import run

    c = default.get_config("smoke")
    record = {"config": json.loads(c.to_json()), "image_shape": [8, 8, 1], "num_classes": 10}
    (tmp_path / "checkpoints" / "2").mkdir(parents=True)
    (tmp_path / "run.json").write_text(json.dumps(record))
    before = (tmp_path / "run.json").read_bytes()
    c.model.channels = 16
    c.train.steps = 4  # may change on resume
    with pytest.raises(resume.ConfigMismatchError,
                       match=r"holds checkpoints of another config: config.model.channels: 8 -> 16\. "
                             r"Resume with the original config .* or use a new --workdir"):
        run(c, str(tmp_path), progress=False)
    assert (tmp_path / "run.json").read_bytes() == before
    assert resume.differing_fields(record["config"], json.loads(c.to_json())) == {"model.channels": (8, 16)}


def test_a_gan_driven_to_inf_stops_and_checkpoints_nothing_non_finite(tmp_path, shared_data):
    """The DCGAN at learning rate 1e6: G's gradient norm is infinite from the first steps while
    its loss stays finite."""
    from experiments.train import run

    if not (shared_data / "mnist").exists():
        pytest.fail("needs the shared MNIST data")
    c = dcgan_mnist.get_config("smoke")
    c.data.dir = str(shared_data)
    c.optim.learning_rate = c.optim.d_learning_rate = 1e6
    c.train.steps, c.train.log_every, c.train.ckpt_every = 100, 5, 2
    with pytest.raises(DivergenceError, match=r"non-finite .*grad_norm.* at step \d+; stopping"):
        run(c, str(tmp_path), progress=False)
    from experiments import build

    ds = build.dataset(c)
    obj = build.objective(c, *build.image_info(ds))
    mngr = checkpoint.manager(str(tmp_path / "checkpoints"))
    abstract = jax.eval_shape(obj.init, jax.random.PRNGKey(0))
    for s in mngr.all_steps():
        st = checkpoint.restore(mngr, abstract, s)
        for x in jax.tree.leaves(st):
            x = np.asarray(x)
            assert not np.issubdtype(x.dtype, np.floating) or np.isfinite(x).all(), s
    assert not (tmp_path / "samples.png").exists()
