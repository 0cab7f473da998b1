import os
import tempfile
from pathlib import Path

# Tests use tiny models, where XLA's CPU compile time dominates: level 0 compiles ~2.5x faster.
# Set before JAX is imported (pytest loads conftest first).
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

# Many tests (and the notebooks' kernels, which inherit this environment) compile the same tiny
# programs: a persistent compilation cache shared by the xdist workers compiles each once per machine.
# Keyed by the program's HLO and the compile options, so a stale entry is never used for new code.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), "gen_jax_tests_jax_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.3")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# ../shared/data relative to the repo root (CI clones the repo with shared/ beside it).
SHARED_DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data():
    return SHARED_DATA


def _run_module(*args, timeout=900):
    """python -m ARGS from the repo root (the repo on PYTHONPATH); returns the CompletedProcess."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=timeout)


@pytest.fixture(scope="session")
def run_module():
    """`run_module("experiments.X", "--flag=...")`: the command in a subprocess from the repo root."""
    return _run_module


@pytest.fixture(scope="session")
def vae_smoke_run(tmp_path_factory):
    """A two-step MNIST smoke VAE trained through `experiments.main` once per test process
    (benches read it and write elsewhere)."""
    if not (SHARED_DATA / "mnist").exists():
        pytest.skip("needs ../shared/data/mnist")
    wd = tmp_path_factory.mktemp("vae_smoke") / "vae"
    r = _run_module("experiments.main", "--config=experiments/configs/vae_mnist.py:smoke",
                   f"--workdir={wd}", f"--config.data.dir={SHARED_DATA}")
    assert r.returncode == 0, r.stderr[-3000:]
    return wd
