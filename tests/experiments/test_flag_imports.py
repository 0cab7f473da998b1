"""The experiments' commands define their absl flags only when run as scripts (define_flags() under
`if __name__ == "__main__"`), so that one process (a pytest worker) can import them all: two
modules defining --workdir or --num at import raise DuplicateFlagError."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The modules whose flags are defined at import: the training entry point (its config_flags) and
# the flags it shares with the commands that import them (--verbose, the multi-process flags).
IMPORT_FLAGS = {"experiments.main", "experiments.cli", "experiments.multihost"}

_IMPORT_ALL = """
import importlib, json, pkgutil, traceback
import experiments
from absl import flags
errors = {}
for m in sorted(x.name for x in pkgutil.iter_modules(experiments.__path__) if not x.ispkg):
    try:
        importlib.import_module("experiments." + m)
    except BaseException:
        errors[m] = traceback.format_exc(limit=-2)
owners = sorted(m for m, fl in flags.FLAGS.flags_by_module_dict().items()
                if m.startswith("experiments") and fl)
print("RESULT " + json.dumps({"errors": errors, "owners": owners}))
"""

# A converted command and one of its own flags, with a piece of that flag's help text.
HELP = {
    "experiments.bench_ar": ("tokenizer", "Workdir of a vqvae run"),
    "experiments.bench_gan": ("mode", "What to measure"),
    "experiments.bench_ldm": ("ldm_workdir", "Trained latent_diffusion workdir"),
    "experiments.bench_samplers": ("samplers", "Samplers: ddpm, ddim"),
    "experiments.bench_sr_video": ("task", "What to measure"),
    "experiments.bench_text": ("per_class", "Samples per class prompt"),
    "experiments.bench_vae": ("workdirs", "Trained VAE workdirs"),
    "experiments.likelihood": ("rtol", "ODE solver relative tolerance"),
    "experiments.reflow": ("sampler", "Sampler of the pairs"),
    "experiments.sample": ("workdir", "run.json + checkpoints/"),
    "experiments.train_classifier": ("dataset", "Dataset to train on"),
}


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=timeout)


def test_every_module_imports_in_one_process():
    r = _run("-c", _IMPORT_ALL)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    assert r.returncode == 0 and lines, r.stderr[-3000:]
    res = json.loads(lines[-1][len("RESULT "):])
    assert res["errors"] == {}, "\n".join(f"{m}: {tb}" for m, tb in res["errors"].items())
    # a module with flags of new names would not clash yet, but would with the next one
    assert set(res["owners"]) <= IMPORT_FLAGS, res["owners"]


@pytest.mark.parametrize("module", sorted(HELP))
def test_help_lists_the_commands_flags(module):
    flag, text = HELP[module]
    r = _run("-m", module, "--help", timeout=120)
    # absl's --help prints the main module's flags and exits with status 1, before main()
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert f"--{flag}: " in r.stdout and text in r.stdout, r.stdout[-3000:]
