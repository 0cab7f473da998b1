"""FSDP: the state sharded over an `fsdp` mesh axis trains to the parameters of one device, holds
a fraction of the state per device, and its checkpoints restore onto a replicated mesh."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from gen_jax.train import sharding

REPO = Path(__file__).resolve().parents[2]


def test_fsdp_spec_splits_the_largest_divisible_dimension():
    assert sharding.fsdp_spec((3, 3, 16, 32), 4) == P(None, None, None, "fsdp")
    assert sharding.fsdp_spec((3, 3, 36, 30), 4) == P(None, None, "fsdp", None)  # 30 % 4 != 0
    assert sharding.fsdp_spec((3, 3, 7, 33), 4) == P()       # nothing divisible: replicate
    assert sharding.fsdp_spec((64,), 4) == P()                # small: replicate
    assert sharding.fsdp_spec((2048,), 4) == P("fsdp")
    assert sharding.fsdp_spec((2048,), 1) == P()


def test_fsdp_splits_most_of_the_mnist_unet_state():
    """On the MNIST U-Net (configs/ddpm_mnist.py), fsdp=4 leaves < 30% of the params per device."""
    import jax

    from experiments import build
    from experiments.configs import ddpm_mnist

    model = build.network(ddpm_mnist.get_config(), (28, 28, 1), None)
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), np.zeros((1, 28, 28, 1)),
                                               np.zeros((1,), np.int32), None))
    sizes = [(int(np.prod(s.shape)), sharding.fsdp_spec(s.shape, 4)) for s in jax.tree.leaves(shapes)]
    total = sum(n for n, _ in sizes)
    per_device = sum(n // 4 if spec != P() else n for n, spec in sizes)
    assert total > 500_000 and per_device / total < 0.3, (total, per_device / total)


def test_bad_fsdp_size_names_the_field():
    import jax

    with pytest.raises(ValueError, match=r"config.train.fsdp: expected a positive divisor of the device count \(1\), found 2"):
        sharding.make_mesh(jax.devices()[:1], fsdp=2)


def test_fsdp_over_eight_devices_equals_one_device_and_restores_replicated(tmp_path):
    script = tmp_path / "fsdp.py"
    script.write_text(f"""
import sys, jax, numpy as np
sys.path.insert(0, {str(Path(__file__).parent)!r})
from helpers import digits, tiny_objective
from gen_jax.train.loop import train
from gen_jax.train.sharding import make_mesh
assert jax.device_count() == 8, jax.devices()
x, y = digits()
flat = lambda t: np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in jax.tree.leaves(t)])
kw = dict(batch_size=16, progress=False)
obj = tiny_objective()
sf = train(obj, x, y, workdir={str(tmp_path / 'f')!r}, num_steps=4, ckpt_every=2, mesh=make_mesh(fsdp=4), **kw)
s1 = train(obj, x, y, workdir={str(tmp_path / 'one')!r}, num_steps=4, ckpt_every=0, mesh=make_mesh(jax.devices()[:1]), **kw)
rel = lambda a, b: float(np.linalg.norm(flat(a) - flat(b)) / np.linalg.norm(flat(b)))
print("fsdp4 vs 1 device", rel(sf.params, s1.params))
assert rel(sf.params, s1.params) < 1e-5

# what is stored per device: the big leaves are split 4 ways (params and Adam moments alike)
leaves = jax.tree.leaves(sf)
sharded = [a for a in leaves if "fsdp" in str(a.sharding.spec)]
assert sharded and all(a.addressable_shards[0].data.size * 4 == a.size for a in sharded)
total = sum(a.size for a in leaves)
per_device = sum(a.addressable_shards[0].data.size for a in leaves)
print("state elements per device / total", per_device / total)
assert per_device == total - sum(a.size for a in sharded) * 3 // 4

# resume the fsdp run's step-2 checkpoint on a replicated 8-device mesh: same result
import shutil
shutil.copytree({str(tmp_path / 'f')!r}, {str(tmp_path / 'r')!r})
shutil.rmtree({str(tmp_path / 'r' / 'checkpoints' / '4')!r})
sr = train(obj, x, y, workdir={str(tmp_path / 'r')!r}, num_steps=4, ckpt_every=0, mesh=make_mesh(), **kw)
assert all("fsdp" not in str(a.sharding.spec) for a in jax.tree.leaves(sr))
print("resumed replicated vs fsdp", rel(sr.params, sf.params))
assert rel(sr.params, sf.params) < 1e-5
print("OK")
""")
    env = dict(os.environ)
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
    env["PYTHONPATH"] = str(REPO)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout[-2000:] + r.stderr[-4000:]
