"""Two processes on localhost (4 forced host devices each, gloo collectives) train and sample
exactly like one process with 8 devices or 1 device, and resume each other's checkpoints."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("multiprocess_worker.py")


def _gloo_available():
    try:
        from jax._src.lib import _jax
        return hasattr(_jax, "make_gloo_tcp_collectives")
    except ImportError:
        return False


pytestmark = pytest.mark.skipif(
    not _gloo_available(), reason=f"this jaxlib ({jax.__version__}) has no gloo CPU collectives, "
                                  "which the 2-process run on one machine needs")


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _env(devices, **extra):
    env = dict(os.environ, PYTHONPATH=str(REPO), **extra)
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"
    return env


def _check(procs):
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out[-2000:] + err[-4000:]
    return outs


def _rel(a, b):
    """Relative difference of whole parameter vectors (as in test_loop's 8-vs-1-device test)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_two_processes_equal_one_process_and_resume_each_other(tmp_path):
    out = str(tmp_path)
    run = lambda mode, devices, **env: subprocess.Popen(  # noqa: E731
        [sys.executable, str(WORKER), mode, out], env=_env(devices, **env), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _check([run("single", 8)])
    port = _free_port()
    _check([run("multi", 4, GEN_JAX_COORDINATOR=f"localhost:{port}", GEN_JAX_NUM_PROCESSES="2",
                GEN_JAX_PROCESS_ID=str(i)) for i in range(2)])
    _check([run("resume", 1)])
    z = {n: np.load(tmp_path / f"{n}.npz") for n in ("d1", "d8", "m", "f4", "r4", "v4", "stats", "s8", "sm")}

    print({k: _rel(z[a]["params"], z[b]["params"]) for k, a, b in
           [("2proc_vs_8dev", "m", "d8"), ("2proc_vs_1dev", "m", "d1"), ("resume_1to2", "r4", "f4"),
            ("resume_2to1", "v4", "f4"), ("stream_2proc_vs_8dev", "sm", "s8")]})
    # parameters after 3 steps: 2 processes x 4 devices == 1 process x 8 devices == 1 device
    assert _rel(z["m"]["params"], z["d8"]["params"]) < 1e-5
    assert _rel(z["m"]["params"], z["d1"]["params"]) < 1e-5
    # the streamed pipeline (prepared shards, random flips): each process reads its rows
    assert _rel(z["sm"]["params"], z["s8"]["params"]) < 1e-5
    assert _rel(z["sm"]["params"], z["m"]["params"]) > 1e-3  # the augmented batches differ
    # resume: 1 process (2 steps) -> 2 processes (to 4), and 2 processes (2) -> 1 device (to 4)
    assert _rel(z["r4"]["params"], z["f4"]["params"]) < 1e-5
    assert _rel(z["v4"]["params"], z["f4"]["params"]) < 1e-5
    # samples of the same parameters (per-sample keys): identical on 1 device, 8, 2 processes
    shared = z["d1"]["samples"]
    assert shared.shape == (8, 8, 8, 1) and shared.dtype == np.uint8 and shared.std() > 0
    np.testing.assert_array_equal(z["d1"]["shared"], shared)
    np.testing.assert_array_equal(z["m"]["shared"], shared)
    # samples of each run's own parameters (equal to ~1e-7): at most one uint8 level apart
    for name in ("d8", "m"):
        diff = np.abs(z[name]["samples"].astype(int) - shared.astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (name, diff.max(), (diff > 0).mean())
    # feature statistics of a batch split over the processes: the full batch's, not one half's
    s = z["stats"]
    assert int(s["n"]) == 16
    np.testing.assert_allclose(s["mu"], s["feats"].mean(0), rtol=1e-5)
    np.testing.assert_allclose(s["sigma"], np.cov(s["feats"], rowvar=False), rtol=1e-4, atol=1e-5)
