"""experiments.sample's main on each argv in turn, in one fresh process: one JAX start for many
calls, and no clash of absl flags with the other commands a test process imports."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_DRIVER = """
import json, sys
from absl import flags
from experiments import sample
sample.define_flags()  # defined only under __main__ (or here)
out = []
for argv in json.loads(sys.argv[1]):
    flags.FLAGS.unparse_flags()
    try:
        flags.FLAGS(["sample", *argv])
        sample.main([])
        out.append(None)
    except BaseException as e:
        out.append(f"{type(e).__name__}: {e}")
print("RESULTS " + json.dumps(out))
"""


def sample_calls(argvs):
    """[None (it ran) or the error's message] for each argv of experiments.sample."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-c", _DRIVER, json.dumps(argvs)], capture_output=True,
                       text=True, cwd=REPO, env=env, timeout=900)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert r.returncode == 0 and lines, r.stderr[-3000:]
    return json.loads(lines[-1][len("RESULTS "):])
