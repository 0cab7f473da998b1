"""Orbax checkpoints of a TrainState: periodic, keep-N, resume on start, multi-host safe."""

from __future__ import annotations

import os

import jax
import orbax.checkpoint as ocp
from absl import logging


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be read back."""


def manager(directory: str, max_to_keep: int = 3) -> ocp.CheckpointManager:
    """max_to_keep >= 1 (orbax reads 0 as "delete every checkpoint")."""
    if not isinstance(max_to_keep, int) or max_to_keep < 1:
        raise ValueError(f"keep_checkpoints (config.train.keep_checkpoints): expected an int >= 1, "
                         f"found {max_to_keep!r}")
    directory = os.path.abspath(directory)
    opts = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
    return ocp.CheckpointManager(directory, options=opts)


def save(mngr: ocp.CheckpointManager, state, *, wait: bool = False) -> None:
    step = int(jax.device_get(state.step))
    mngr.save(step, args=ocp.args.StandardSave(state), force=True)
    if wait:
        mngr.wait_until_finished()


def save_host(directory: str, state) -> None:
    """Write `state`, whose leaves are numpy arrays (or jax arrays), as the checkpoint at its step in `directory`
    without copying them: no defensive copies and no OCDBT aggregation, so a read-only view (e.g.
    `np.broadcast_to` zeros for an optimiser state) is encoded one array at a time and never
    materialised as a whole. For imported weights, whose host memory stays near their size;
    `restore` reads the result like any other checkpoint."""
    import numpy as np

    registry = ocp.type_handlers.create_type_handler_registry(
        (np.ndarray, ocp.type_handlers.NumpyHandler(deepcopy_host_arrays=False)),
        (np.number, ocp.type_handlers.ScalarHandler()), (int, ocp.type_handlers.ScalarHandler()),
        (jax.Array, ocp.type_handlers.ArrayHandler()))
    handler = ocp.PyTreeCheckpointHandler(type_handler_registry=registry, use_ocdbt=False)
    mngr = ocp.CheckpointManager(os.path.abspath(directory), item_handlers=handler,
                                 options=ocp.CheckpointManagerOptions(create=True))
    verbosity = logging.get_verbosity()
    logging.set_verbosity(logging.ERROR)  # orbax warns that there is no OCDBT to merge: none is meant
    try:
        mngr.save(int(state.step), args=ocp.args.PyTreeSave(state), force=True)
        mngr.wait_until_finished()
    finally:
        mngr.close()
        logging.set_verbosity(verbosity)


def restore(mngr: ocp.CheckpointManager, abstract_state, step: int | None = None):
    """Restore `step` (default: latest) into the structure/shardings of abstract_state.

    Returns None when the directory holds no checkpoint. A checkpoint that cannot be read raises
    CheckpointError naming its path; nothing is deleted, so no work is lost.
    """
    step = mngr.latest_step() if step is None else step
    if step is None:
        return None
    if step not in mngr.all_steps():
        raise CheckpointError(f"no checkpoint for step {step} in {mngr.directory}; "
                              f"available: {sorted(mngr.all_steps())}")
    try:
        return mngr.restore(step, args=ocp.args.StandardRestore(abstract_state))
    except Exception as e:  # orbax raises many types for truncated/corrupt files
        path = os.path.join(str(mngr.directory), str(step))
        # The first line only: TensorStore appends tens of lines of context (kept in __cause__).
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        raise CheckpointError(
            f"checkpoint at {path} could not be read ({type(e).__name__}: {first}). If the config "
            f"differs from the one that wrote it (model, data), use the original config or a new "
            f"workdir; if the files are damaged, move that folder away to resume from an earlier "
            f"step ({sorted(mngr.all_steps())}). Nothing was deleted."
        ) from e
