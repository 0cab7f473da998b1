"""One process of tests/train/test_multiprocess.py (run as a script, not collected by pytest).

python tests/train/multiprocess_worker.py single OUT   one process, 8 forced host devices
python tests/train/multiprocess_worker.py multi OUT    one of 2 processes (GEN_JAX_* environment)
python tests/train/multiprocess_worker.py resume OUT   one process, one device, continuing the 2-process run

Trains the default config's smoke variant through the one training loop and samples through
experiments.sampling.generate, writing parameters and samples (from process 0) to OUT/*.npz.
"""

import os
import shutil
import time

T0 = time.time()
import sys

from gen_jax.train import distributed

MODE, OUT = sys.argv[1], sys.argv[2]
distributed.initialize()  # before any device use; a no-op for the single-process modes

import jax  # noqa: E402

# Each train() call jits its step afresh: the persistent cache turns the repeats into cache hits.
# The suite's cache (JAX_COMPILATION_CACHE_DIR, set by tests/conftest.py) is shared by the modes, so
# the 1-device programs that "single" compiles are hits for "resume".
if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    jax.config.update("jax_compilation_cache_dir", os.path.join(OUT, f"cache_{MODE}_{jax.process_index()}"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from experiments import build  # noqa: E402
from experiments.configs import default  # noqa: E402
from experiments.sampling import generate  # noqa: E402
from gen_jax.metrics.features import init_stats, mean_cov, update_stats  # noqa: E402
from gen_jax.train import sharding  # noqa: E402
from gen_jax.train.loop import train  # noqa: E402

c = default.get_config("smoke")
c.model.channel_mult, c.model.attention_resolutions = (1,), ()  # the smallest U-Net: fast compiles
ds = build.dataset(c)
image_shape, num_classes = build.image_info(ds)
objective = build.objective(c, image_shape, num_classes)
main = jax.process_index() == 0


def fit(name, steps, mesh, data=None):
    """Train (or resume) OUT/name to `steps` steps; returns the final state. data: a streamed
    set (the grain pipeline) instead of the in-memory images."""
    print(name, f"{time.time() - T0:.1f}s", flush=True)
    images, labels = (ds.images, ds.labels) if data is None else (data.images, data.labels)
    return train(objective, images, labels, workdir=os.path.join(OUT, name), num_steps=steps,
                 batch_size=c.train.batch_size, seed=c.seed, ckpt_every=0, progress=False, mesh=mesh)


def streamed():
    """The same digits, prepared as ArrayRecord shards (by process 0, in the single mode) and
    streamed by grain with random flips: each process reads only its rows."""
    from gen_jax.data.prepared import prepare_source

    path = os.path.join(OUT, "prepared_digits")
    if MODE == "single":
        prepare_source("digits", path, num_shards=2)
    cs = default.get_config("smoke")
    cs.data.name, cs.data.flip = f"folder:{path}", True  # a crop would change the image shape
    return build.dataset(cs)


def samples(params, mesh):
    print("samples", f"{time.time() - T0:.1f}s", flush=True)
    params = sharding.put_replicated(params, mesh)
    labels = (np.arange(8) % num_classes).astype(np.int32)
    return generate(objective, params, num=8, seed=3, sampler="ddim", num_steps=3, labels=labels,
                    batch_size=8, progress=False, mesh=mesh)


def save(name, **arrays):
    if main:
        np.savez(os.path.join(OUT, name + ".npz"), **arrays)


def flat(params):
    return np.concatenate([np.ravel(np.asarray(a)) for a in jax.tree.leaves(params)])


if MODE == "single":
    assert jax.device_count() == 8, jax.devices()
    one, eight = sharding.make_mesh(jax.devices()[:1]), sharding.make_mesh()
    s1 = fit("d1", 3, one)
    fit("d8", 2, eight)
    shutil.copytree(os.path.join(OUT, "d8"), os.path.join(OUT, "r2"))  # the 2 processes resume it
    s8 = fit("d8", 3, eight)
    save("d1", params=flat(s1.params), samples=samples(s1.ema_params, one),
         shared=samples(s1.ema_params, eight))
    save("d8", params=flat(s8.params), samples=samples(s8.ema_params, eight))
    save("f4", params=flat(fit("d8", 4, eight).params))
    save("s8", params=flat(fit("s8", 3, eight, streamed()).params))
elif MODE == "multi":
    assert jax.process_count() == 2 and jax.device_count() == 8, (jax.process_count(), jax.devices())
    mesh = sharding.make_mesh()
    sm = fit("m", 3, mesh)
    # the 1-device run's parameters, restored here onto 2 processes: samples must equal exactly
    s1 = fit("d1", 3, mesh)
    save("m", params=flat(sm.params), samples=samples(sm.ema_params, mesh),
         shared=samples(s1.ema_params, mesh))
    save("r4", params=flat(fit("r2", 4, mesh).params))  # resumes the 1-process checkpoint
    fit("v2", 2, mesh)  # a 2-process checkpoint for the single process to resume
    save("sm", params=flat(fit("sm", 3, mesh, streamed()).params))  # the grain pipeline
    # feature statistics of a batch sharded over both processes: XLA reduces across them
    feats = np.random.default_rng(0).normal(3.0, 2.0, (16, 5)).astype(np.float32)
    local = sharding.put_batch(feats[sharding.local_rows(16)], mesh)
    stats = jax.jit(update_stats, out_shardings=sharding.replicated(mesh))(init_stats(5), local)
    mu, sigma = mean_cov(stats)
    save("stats", n=int(stats.n), mu=mu, sigma=sigma, feats=feats)
elif MODE == "resume":
    save("v4", params=flat(fit("v2", 4, sharding.make_mesh(jax.devices()[:1])).params))
else:
    raise SystemExit(f"unknown mode {MODE!r}; expected single, multi or resume")
if main:
    print("OK", MODE, f"{time.time() - T0:.1f}s")
