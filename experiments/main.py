"""Train any method from a config; resumes from the workdir's latest checkpoint.

python -m experiments.main --config=experiments/configs/default.py --workdir=runs/default
python -m experiments.main --config=experiments/configs/ddpm_mnist.py --workdir=runs/mnist \
    --config.data.dir=../shared/data --config.train.steps=2000

The training itself is experiments.train.run, importable without these flags. Errors print one
line (exit 2: usage, 1: runtime); --verbose or GEN_JAX_VERBOSE=1 adds the traceback.
"""

from __future__ import annotations

from absl import flags, logging
from ml_collections import config_flags

from experiments import cli, multihost
from experiments.train import run
from gen_jax.train import lock

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file (path[:variant]).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and samples.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    multihost.initialize()
    with lock.hold(_WORKDIR.value):  # before anything is written (run.json, samples.png)
        run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    flags.mark_flags_as_required(["config", "workdir"])
    cli.run(main)
