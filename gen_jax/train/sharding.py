"""Placement on the mesh: a 2-D (`data`, `fsdp`) mesh over all devices (all processes). The batch
is sharded over both axes (every device gets its own rows). The train state is replicated when
fsdp = 1 (plain data parallelism); with fsdp = k > 1 each parameter and optimiser leaf is split
k ways along one dimension over the `fsdp` axis (FSDP / ZeRO-3 style: XLA all-gathers a weight
where it is used and reduce-scatters its gradient), so state memory per device drops ~k-fold.
Library code is written for one device's view; this file is the only place that knows about
devices."""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"
FSDP_AXIS = "fsdp"
# Leaves smaller than this many elements stay replicated: splitting them saves nothing and costs a
# collective each (biases, norms, the step counter, the RNG key).
FSDP_MIN_SIZE = 1024


def make_mesh(devices=None, fsdp: int = 1) -> Mesh:
    """A (data, fsdp) mesh. fsdp: devices that share one copy of the state (1: replicate it).
    Consecutive devices form an fsdp group, so on a multi-host run a group stays within a host
    when fsdp divides the local device count."""
    devices = np.asarray(jax.devices() if devices is None else devices).reshape(-1)
    if not isinstance(fsdp, (int, np.integer)) or fsdp < 1 or devices.size % fsdp:
        raise ValueError(f"config.train.fsdp: expected a positive divisor of the device count "
                         f"({devices.size}), found {fsdp!r}")
    return Mesh(devices.reshape(-1, fsdp), (DATA_AXIS, FSDP_AXIS))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P((DATA_AXIS, FSDP_AXIS)))


def fsdp_spec(shape, n: int, min_size: int = FSDP_MIN_SIZE) -> P:
    """Shard the largest dimension divisible by n over `fsdp`; replicate small or indivisible
    leaves."""
    if n == 1 or int(np.prod(shape, dtype=np.int64)) < min_size:
        return P()
    for i in sorted(range(len(shape)), key=lambda i: -shape[i]):
        if shape[i] % n == 0:
            return P(*[FSDP_AXIS if j == i else None for j in range(len(shape))])
    return P()


def state_sharding(abstract_state, mesh: Mesh, min_size: int = FSDP_MIN_SIZE):
    """Shardings for a state pytree (of arrays or ShapeDtypeStructs): fsdp_spec per leaf."""
    n = mesh.shape[FSDP_AXIS]
    return jax.tree.map(lambda s: NamedSharding(mesh, fsdp_spec(s.shape, n, min_size)), abstract_state)


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
