"""Training from a config, importable without flags (experiments.main is its command line;
notebooks, tests and benchmarks call run() directly)."""

from __future__ import annotations

import os

import jax

from experiments import build, resume
from experiments.workdir import save_run_info
from gen_jax.objective import sample_options
from gen_jax.train import sharding
from gen_jax.train.loop import train
from gen_jax.utils.images import save_grid, to_uint8


def run(c, workdir: str, progress: bool = True, stop_after: int | None = None):
    """Train from config c into workdir, then write samples.png (unless train.num_final_samples
    is 0). Returns the final state."""
    build.validate(c)
    ds = build.dataset(c)
    extras = build.batch_extras(c, ds)  # text runs: {"tokens": [N, L]}; fits c.text.vocab if empty
    image_shape, num_classes = build.image_info(ds)
    objective = build.with_previews(c, build.objective(c, image_shape, num_classes))
    resume.check(workdir, c)  # run.json is written by train() once the checkpoint restored
    labels = ds.labels if getattr(objective, "num_classes", None) else None
    if jax.process_index() == 0:
        print(f"gen_jax: {c.objective.name} on {ds.name} {ds.images.shape}, "
              f"{jax.device_count()} device(s) [{jax.default_backend()}], workdir {workdir}")
    mesh = sharding.make_mesh(fsdp=c.train.get("fsdp", 1))
    evaluate = build.evaluator(c, ds, objective.preview, mesh=mesh)
    state = train(objective, ds.images, labels, workdir=workdir, num_steps=c.train.steps,
                  batch_size=c.train.batch_size, seed=c.seed, log_every=c.train.log_every,
                  ckpt_every=c.train.ckpt_every, sample_every=c.train.sample_every,
                  num_preview=c.train.num_preview, keep_checkpoints=c.train.keep_checkpoints,
                  progress=progress, stop_after=stop_after, mesh=mesh, evaluate=evaluate,
                  eval_every=c.train.get("eval_every", 0), extras=extras,
                  steps_per_call=c.train.get("steps_per_call", 1),
                  loss_blowup_factor=c.train.get("loss_blowup_factor", 1000.0),
                  on_start=lambda _: save_run_info(workdir, c, image_shape, num_classes,
                                                         ds.class_names))
    if int(state.step) >= c.train.steps and hasattr(objective, "sample") and c.train.num_final_samples:
        s = c.sampler
        n = c.train.num_final_samples
        kw = final_sample_kwargs(c, objective, n)
        # Every process runs the (replicated) sampling: a jitted call on arrays that span several
        # processes is a collective program; only process 0 writes the grid.
        fn = jax.jit(lambda p, k: objective.sample(p, k, n, **kw),
                     out_shardings=sharding.replicated(sharding.make_mesh()))
        x = fn(state.ema_params, jax.random.PRNGKey(c.seed))
        if jax.process_index() == 0:
            ncols = num_classes if objective.num_classes and n % num_classes == 0 else None
            path = save_grid(os.path.join(workdir, "samples.png"), to_uint8(x), ncols=ncols)
            how = f"{s.name}, {s.num_steps} steps" if "num_steps" in kw else "one generator call"
            print(f"wrote {path} ({how})")
    return state


def final_sample_kwargs(c, objective, n: int) -> dict:
    """objective.sample's keyword options for the config's final grid (config.sampler), only those
    the objective (and its sampler) takes, with labels cycling through the classes."""
    s = c.sampler
    labels = jax.numpy.arange(n) % objective.num_classes if objective.num_classes else None
    takes = sample_options(objective, s.get("name"))
    kw = dict(sampler=s.get("name"), num_steps=s.get("num_steps"), eta=s.get("eta"),
              spacing=s.get("spacing"), shift=s.get("shift"), labels=labels)
    return {k: v for k, v in kw.items() if k in takes and v is not None}
