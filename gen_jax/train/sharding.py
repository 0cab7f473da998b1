"""Data-parallel placement: a 1-D `data` mesh over all devices (all processes), batch sharded
on it, parameters replicated. Library code is written for one device's view; this file is the
only place that knows about devices."""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(devices=None) -> Mesh:
    devices = np.asarray(jax.devices() if devices is None else devices)
    return Mesh(devices.reshape(-1), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def check_batch_size(global_batch: int, mesh: Mesh) -> None:
    n = mesh.devices.size
    if global_batch % n:
        raise ValueError(f"the global batch size ({global_batch}) must be divisible by the number "
                         f"of devices ({n}); set --config.train.batch_size to a multiple of {n}")
    if global_batch % jax.process_count():
        raise ValueError(f"the global batch size ({global_batch}) must be divisible by the number "
                         f"of processes ({jax.process_count()})")


def local_rows(global_batch: int) -> slice:
    """Rows of the global batch that this process reads (its devices' shards, in order)."""
    per = global_batch // jax.process_count()
    return slice(jax.process_index() * per, (jax.process_index() + 1) * per)


def put_batch(local_batch, mesh: Mesh):
    """Assemble a global batch sharded on `data` from this process's rows (a pytree of numpy)."""
    sharding = batch_sharding(mesh)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x), local_batch)


def put_replicated(tree, mesh: Mesh):
    return jax.device_put(tree, replicated(mesh))
