"""gen_jax/flow/__init__.py: the flow modules import first in a fresh process (the sampler registry
lists the flow samplers, which import gen_jax.samplers.common), as experiments.reflow and
experiments.bench_rf do."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", ["gen_jax.flow.samplers", "gen_jax.flow.reflow", "gen_jax.samplers"])
def test_imports_first_in_a_fresh_process(module):
    code = f"import {module}; from gen_jax.samplers import SAMPLERS; assert 'rf_euler' in SAMPLERS"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                       env={"PYTHONPATH": str(REPO), "PATH": ""}, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
