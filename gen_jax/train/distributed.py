"""Multi-process start-up: one call before any other JAX use turns N processes (TPU pod hosts, GPU
hosts, or CPU processes on one machine) into one JAX runtime, so that jax.devices() lists every
process's devices and the `data` mesh of train/sharding.py spans them all."""

from __future__ import annotations

import os

import jax

ENV_COORDINATOR = "GEN_JAX_COORDINATOR"
ENV_NUM_PROCESSES = "GEN_JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "GEN_JAX_PROCESS_ID"
ENV_AUTO = "GEN_JAX_MULTIHOST"


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, found {value!r}") from None


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, auto: bool = False) -> bool:
    """Call jax.distributed.initialize when this run is multi-process; returns whether it did.

    Explicit arguments win over GEN_JAX_COORDINATOR / GEN_JAX_NUM_PROCESSES / GEN_JAX_PROCESS_ID.
    auto (or GEN_JAX_MULTIHOST=1) with no address: JAX detects the cluster itself (TPU pod slices,
    SLURM, Open MPI). With neither, nothing happens: a single-process run. Must run before
    anything touches a device (jax.devices(), an array, a jit call).
    """
    coordinator_address = coordinator_address or os.environ.get(ENV_COORDINATOR) or None
    num_processes = num_processes if num_processes is not None else _env_int(ENV_NUM_PROCESSES)
    process_id = process_id if process_id is not None else _env_int(ENV_PROCESS_ID)
    auto = auto or os.environ.get(ENV_AUTO, "") not in ("", "0", "false", "False")
    explicit = (coordinator_address, num_processes, process_id)
    if all(v is None for v in explicit) and not auto:
        return False
    if any(v is not None for v in explicit):
        missing = [n for n, v in zip(("coordinator_address", "num_processes", "process_id"), explicit)
                   if v is None]
        if missing:
            raise ValueError(f"multi-process start-up needs coordinator_address, num_processes and "
                             f"process_id together (flags --coordinator_address/--num_processes/"
                             f"--process_id or {ENV_COORDINATOR}/{ENV_NUM_PROCESSES}/"
                             f"{ENV_PROCESS_ID}); missing: {', '.join(missing)}")
        if not 0 <= process_id < num_processes:
            raise ValueError(f"process_id must be in [0, {num_processes}), found {process_id}")
    if jax.distributed.is_initialized():
        return True
    # CPU processes exchange gradients through gloo; GPU (NCCL) and TPU (ICI/DCN) ignore this.
    if jax.config.jax_cpu_collectives_implementation in (None, "", "none"):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address, num_processes, process_id)
    return True


def is_main() -> bool:
    """Process 0 writes files (run.json, logs, grids, npz); orbax coordinates its own saves."""
    return jax.process_index() == 0
