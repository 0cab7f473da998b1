"""experiments.sample: one path for every family. Every sampler of the registry runs on a
generalized-diffusion run (the run whose config said "sampled by any sampler" was once routed to
the flow path by accident), the flags a run cannot use are errors naming the flag and the family,
and the command's samples equal the library's."""

import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from gen_jax.samplers import SAMPLERS
from sample_driver import sample_calls  # noqa: E402  (tests/experiments/)

REPO = Path(__file__).resolve().parents[2]


def _train(module: str, workdir: Path):
    import importlib

    from experiments.train import run

    c = importlib.import_module(f"experiments.configs.{module}").get_config("smoke")
    c.train.num_final_samples = 0
    run(c, str(workdir), progress=False)




# each case names the flag and why (the sampler or the family)
USAGE_ERRORS = [
    (["--sampler=rf_euler", "--eta=0.5"], "--eta: sampler 'rf_euler' does not take it"),
    (["--sampler=dpm_solver_pp_2m", "--shift=2"], "--shift: sampler 'dpm_solver_pp_2m' does not take it"),
    (["--steps=0"], "--steps must be >= 1, got 0"),
    (["--num=0"], "--num must be >= 1, got 0"),
    (["--batch_size=-1"], "--batch_size must be >= 1"),
    (["--eta=2"], "--eta must be in [0, 1], got 2.0"),
    (["--sampler=nope"], "--sampler must be one of"),
    (["--truncation=0.7"], "--truncation: a diffusion run does not take it"),
]


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory):
    """A generalized-diffusion smoke run, every registered sampler and every usage error of the
    command on it (one process)."""
    wd = tmp_path_factory.mktemp("diffusion_default")
    _train("diffusion_default", wd)
    argvs = [[f"--workdir={wd}", f"--sampler={name}", "--steps=3", "--num=2", f"--out={name}.npz",
              "--batch_size=2"] for name in sorted(SAMPLERS)]
    argvs += [[f"--workdir={wd}", "--num=2", "--out=bad.npz", *args] for args, _ in USAGE_ERRORS]
    results = sample_calls(argvs)
    return wd, dict(zip(sorted(SAMPLERS), results)), results[len(SAMPLERS):]


def test_every_sampler_runs_on_a_generalized_diffusion_run(diffusion_run):
    """The command's samples equal the library's for every name, and heun (the Karras σ-space
    Heun) is not rf_heun (the flow ODE's): the run once routed the one to the other."""
    wd, results, _ = diffusion_run
    assert all(err is None for err in results.values()), results
    got = {name: np.load(wd / f"{name}.npz")["images"] for name in SAMPLERS}
    for name, x in got.items():
        assert x.shape == (2, 8, 8, 1) and x.dtype == np.uint8, name

    from experiments.sampling import load_objective_and_params
    from gen_jax.utils.images import to_uint8

    _, obj, state, _ = load_objective_and_params(str(wd))
    labels = np.arange(2, dtype=np.int32) % obj.num_classes if obj.num_classes else None
    keys = np.stack([jax.random.fold_in(jax.random.PRNGKey(0), i) for i in range(2)])
    run = jax.jit(lambda p: {name: obj.sample(p, keys, sampler=name, num_steps=3, labels=labels)
                             for name in SAMPLERS})  # one compilation for all: about half the time
    lib = run(state.ema_params)
    for name, x in lib.items():
        np.testing.assert_array_equal(got[name], to_uint8(np.asarray(x)), err_msg=name)
    assert not np.allclose(np.asarray(lib["heun"]), np.asarray(lib["rf_heun"]))


def _cli(args, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "experiments.sample", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def test_flags_a_run_cannot_use_are_one_line_usage_errors(diffusion_run):
    """Each case names the flag and why; nothing is written."""
    wd, _, errors = diffusion_run
    for (args, message), err in zip(USAGE_ERRORS, errors):
        assert err is not None and message in err, (args, err)
    assert not (wd / "bad.npz").exists()
    r = _cli([f"--workdir={wd}", "--steps=0"])  # as a user sees it: one line, exit 1
    assert r.returncode != 0 and "--steps must be >= 1, got 0" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2 and "Traceback" not in r.stderr, r.stderr


def test_sample_command_on_a_flow_workdir_matches_the_library(tmp_path):
    from experiments.sampling import generate, load_objective_and_params

    _train("rf_default", tmp_path)
    r = _cli([f"--workdir={tmp_path}", "--sampler=rf_heun", "--steps=2", "--num=4", "--out=s.npz"])
    assert r.returncode == 0, r.stderr[-3000:]
    z = np.load(tmp_path / "s.npz")
    assert z["images"].shape == (4, 8, 8, 1) and z["images"].dtype == np.uint8
    np.testing.assert_array_equal(z["labels"], np.arange(4) % 10)
    _, obj, state, _ = load_objective_and_params(str(tmp_path))
    ref = generate(obj, state.ema_params, num=4, seed=0, sampler="rf_heun", num_steps=2,
                   labels=np.arange(4, dtype=np.int32) % 10, progress=False)
    np.testing.assert_array_equal(z["images"], ref)
    again = _cli([f"--workdir={tmp_path}", "--sampler=rf_heun", "--steps=2", "--num=4", "--out=s.npz"])
    assert again.returncode != 0 and "exists; pass --overwrite" in again.stderr


def test_sample_command_on_a_vae_workdir_decodes_prior_samples(tmp_path):
    _train("vae_default", tmp_path)
    results = sample_calls([[f"--workdir={tmp_path}", "--num=5", f"--out={out}", f"--batch_size={bs}"]
                             for out, bs in (("a.npz", 5), ("b.npz", 2))]
                            + [[f"--workdir={tmp_path}", "--num=5", "--steps=3", "--out=c.npz"]])
    assert results[:2] == [None, None], results
    a, b = np.load(tmp_path / "a.npz")["images"], np.load(tmp_path / "b.npz")["images"]
    assert a.shape == (5, 8, 8, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)  # sample i does not depend on the batch size
    assert len({x.tobytes() for x in a}) == 5
    assert "--steps: a vae run does not take it" in results[2]
