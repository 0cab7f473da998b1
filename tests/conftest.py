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
