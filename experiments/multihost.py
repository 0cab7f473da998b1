"""The multi-process flags shared by experiments.main and experiments.sample.

Two CPU processes on one machine (what tests/train/test_multiprocess.py runs):
  python -m experiments.main ... --coordinator_address=localhost:12345 --num_processes=2 --process_id=0
  python -m experiments.main ... --coordinator_address=localhost:12345 --num_processes=2 --process_id=1
TPU pod slice / SLURM: --multihost on every host (JAX detects the cluster). The same values can
come from GEN_JAX_COORDINATOR / GEN_JAX_NUM_PROCESSES / GEN_JAX_PROCESS_ID / GEN_JAX_MULTIHOST=1.
"""

from __future__ import annotations

from absl import flags

from gen_jax.train import distributed

_COORD = flags.DEFINE_string("coordinator_address", None, "host:port of process 0, for a "
                             "multi-process run (with --num_processes and --process_id).")
_NUM = flags.DEFINE_integer("num_processes", None, "Number of processes of a multi-process run.")
_ID = flags.DEFINE_integer("process_id", None, "This process's index in [0, num_processes).")
_AUTO = flags.DEFINE_bool("multihost", False, "Multi-process run with the platform's own cluster "
                          "detection (TPU pod slices, SLURM, Open MPI).")


def initialize() -> bool:
    """jax.distributed.initialize from the flags (or the environment); call first in main()."""
    return distributed.initialize(_COORD.value, _NUM.value, _ID.value, auto=_AUTO.value)
