"""Sampling from a trained workdir, as functions (no flags): rebuild the objective, one jitted
sampler per sampler/edit mode, batched generation with per-sample keys, image and mask loading.
experiments.sample and experiments.bench_samplers are thin command-line fronts over these."""

from __future__ import annotations

import inspect
import os
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from absl import app
from jax.experimental import multihost_utils
from tqdm.auto import tqdm

from experiments import build
from experiments.workdir import load_run_info
from gen_jax.objective import sample_options
from gen_jax.samplers.editing import img2img, inpaint
from gen_jax.samplers.guidance import classifier_guided
from gen_jax.train import checkpoint, sharding
from gen_jax.utils.images import to_uint8

MASKS = ("left", "right", "top", "bottom", "center")


def load_objective_and_params(workdir: str, step: int | None = None):
    """Rebuild the objective from workdir/run.json and restore the EMA parameters."""
    c, image_shape, num_classes, class_names = load_run_info(workdir)
    objective = build.objective(c, image_shape, num_classes)
    mesh = sharding.make_mesh()
    repl = sharding.replicated(mesh)
    abstract = jax.eval_shape(objective.init, jax.random.PRNGKey(0))
    abstract = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=repl), abstract)
    mngr = checkpoint.manager(os.path.join(workdir, "checkpoints"))
    state = checkpoint.restore(mngr, abstract, step)
    if state is None:
        raise FileNotFoundError(f"no checkpoint in {os.path.join(workdir, 'checkpoints')}: train first")
    return c, objective, state, class_names


def iterative(objective) -> bool:
    """Whether the objective runs the samplers of the registry (its sample forwards their
    **options; their step count is a runtime value). Otherwise a step count (MaskGIT's) is a
    static option of sampler_fn."""
    params = inspect.signature(objective.sample).parameters.values()
    return "sampler" in sample_options(objective) and any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def sampler_fn(objective, sampler: str | None, spacing: str | None = "trailing",
               conditional: bool = False, mesh=None, on_trace=None, edit: str | None = None,
               jump_length: int = 1, jump_n_sample: int = 1, static_steps: int | None = None,
               negative_class: int | None = None, classifier=None, control: bool = False,
               **static_options):
    """A jitted fn(params, keys [B,2], labels [B], num_steps, eta, guidance, x_ref [H,W,C],
    mask [H,W,C], strength) -> images [B,H,W,C], for any objective: each argument reaches
    objective.sample only when the objective (and its sampler) takes it
    (gen_jax.objective.sample_options), so one front serves every family.

    edit: None (plain sampling; x_ref/mask/strength unused unless control), "inpaint" (keep x_ref
    where mask = 1) or "img2img" (SDEdit from x_ref at `strength`): both run DDIM(η) steps on the
    model's VP view. num_steps, eta, guidance and strength are runtime values: one compilation per
    batch shape serves a whole sweep (RePaint resampling, jump_n_sample > 1, needs static_steps).
    negative_class replaces the null class in CFG. classifier: a NoisyClassifierObjective; run then
    also takes (cg_params, cg_scale) and guides toward the labels at runtime scale cg_scale.
    control: x_ref is a ControlNet run's control image. static_options: further sampler options
    (e.g. shift, aug_level). run's cond: per-sample inputs {name: [B, ...]} of objective.sample
    (e.g. an SR run's lowres). on_trace() is called each time JAX traces."""
    mesh = mesh or sharding.make_mesh()
    if edit not in (None, "inpaint", "img2img"):
        raise ValueError(f"unknown edit {edit!r}; expected None, 'inpaint' or 'img2img'")
    accepted = sample_options(objective, sampler)

    @partial(jax.jit, out_shardings=sharding.batch_sharding(mesh))
    def run(params, keys, labels, num_steps, eta, guidance, x_ref, mask, strength,
            cg_params=None, cg_scale=0.0, cond=None):
        if on_trace is not None:
            on_trace()
        guide = None
        if classifier is not None:
            guide = lambda d: classifier_guided(d, classifier.log_prob(cg_params), objective.schedule,
                                                labels, cg_scale)
        labels = labels if conditional else None
        neg = None if negative_class is None or labels is None else jnp.full_like(labels, negative_class)
        if edit is None:
            kw = dict(sampler=sampler, num_steps=num_steps, eta=eta, labels=labels, guidance=guidance,
                      spacing=spacing, negative_labels=neg, guide=guide,
                      control_image=x_ref if control else None)
            kw.update(static_options)
            kw.update(cond or {})
            kw = {k: v for k, v in kw.items() if v is not None and k in accepted}
            return objective.sample(params, keys, **kw)
        views = objective.views(params, labels, guidance, **({} if neg is None else {"negative_labels": neg}))
        views = views.map_denoise(guide) if guide is not None else views
        x_ref = jnp.broadcast_to(x_ref, (keys.shape[0], *x_ref.shape))
        spacing_ = spacing or "trailing"
        if edit == "img2img":
            return img2img(views.denoise, views.schedule, x_ref, keys, num_steps, strength,
                           eta=eta, spacing=spacing_)
        x_T = jax.vmap(lambda k: jax.random.normal(k, objective.image_shape))(keys)
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
        n = static_steps if jump_n_sample > 1 else num_steps
        return inpaint(views.denoise, views.schedule, x_T, step_keys, n, x_ref, mask, eta=eta,
                       spacing=spacing_, jump_length=jump_length, jump_n_sample=jump_n_sample)

    return run


def load_image(spec: str, image_shape, data_name: str | None = None, data_dir: str | None = None):
    """An image [H, W, C] in [-1, 1] from a file (resized, converted to the model's channels) or
    from the run's dataset as "test:INDEX" / "train:INDEX"."""
    split, _, index = spec.partition(":")
    if split in ("test", "train") and index.isdigit():
        from gen_jax.data import load_dataset

        images = load_dataset(data_name, data_dir, split).images
        if int(index) >= len(images):
            raise app.UsageError(f"{spec}: the {split} split has {len(images)} images")
        return images[int(index)]
    if not os.path.exists(spec):
        raise FileNotFoundError(f"image {spec!r} not found (give a PNG/JPEG path or test:INDEX)")
    from PIL import Image

    h, w, c = image_shape
    img = Image.open(spec).convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
    x = np.asarray(img, np.float32).reshape(h, w, c)
    return x / 127.5 - 1.0


def load_mask(spec: str, image_shape) -> np.ndarray:
    """Known-pixel mask [H, W, C] (1 = keep): a name from MASKS, naming the half that is kept
    ("center": everything but a central box is kept), or an image file whose pixels > 127 are kept."""
    h, w, c = image_shape
    m = np.zeros((h, w, c), np.float32)
    if spec == "left":
        m[:, : w // 2] = 1
    elif spec == "right":
        m[:, w // 2:] = 1
    elif spec == "top":
        m[: h // 2] = 1
    elif spec == "bottom":
        m[h // 2:] = 1
    elif spec == "center":
        m[:] = 1
        m[h // 4: h - h // 4, w // 4: w - w // 4] = 0
    elif os.path.exists(spec):
        from PIL import Image

        img = np.asarray(Image.open(spec).convert("L").resize((w, h), Image.NEAREST))
        m[:] = (img > 127)[..., None]
    else:
        raise app.UsageError(f"--mask {spec!r}: expected one of {MASKS} or an image file")
    return m


def time_call(fn, *args, repeats: int = 5, warmup: bool = True) -> float:
    """Median wall time of fn(*args) over `repeats` calls, after one untimed call (compilation)
    unless warmup is False (the caller compiled it already)."""
    if warmup:
        jax.block_until_ready(fn(*args))
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def sample_keys(seed: int, start: int, count: int, stage: int | None = None):
    """Per-sample keys fold_in(PRNGKey(seed), i) for i in [start, start + count); with stage,
    fold_in(that key, stage): the keys of a cascade's stage (gen_jax.sr.cascade.stage_keys)."""
    base = jax.random.PRNGKey(seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(start, start + count))
    if stage is not None:
        keys = jax.vmap(lambda k: jax.random.fold_in(k, stage))(keys)
    return np.asarray(keys)


def generate(objective, params, *, num: int, seed: int, sampler: str | None, num_steps: int | None,
             eta: float = 0.0,
             spacing: str = "trailing", labels=None, guidance: float = 1.0, batch_size: int = 500,
             progress: bool = True, fn=None, on_batch=None, x_ref=None, mask=None, strength=0.0,
             cg_params=None, cg_scale: float = 0.0, mesh=None, stage: int | None = None,
             cond: dict | None = None, as_uint8: bool = True):
    """All samples as uint8 [num, H, W, C] (floats in the model's range if not as_uint8), in
    batches of batch_size (rounded up to the device count; the last batch is padded, then cut).
    fn: a prebuilt sampler_fn (to reuse its compilation, or for editing with x_ref/mask/strength);
    stage: the keys of a cascade stage (sample_keys); cond: per-sample inputs {name: [num, ...]}
    given to objective.sample, batched like the labels; on_batch(seconds, batch_size) is
    called with each batch's wall time. Multi-process: every process must call it (with the same
    arguments) and every process returns all samples; let process 0 write them."""
    mesh = mesh or sharding.make_mesh()
    bs = min(batch_size, num)
    bs = -(-bs // mesh.devices.size) * mesh.devices.size
    fn = fn or sampler_fn(objective, sampler, spacing, labels is not None, mesh)
    x_ref = jnp.zeros(objective.image_shape) if x_ref is None else jnp.asarray(x_ref, jnp.float32)
    mask = jnp.zeros(objective.image_shape) if mask is None else jnp.asarray(mask, jnp.float32)
    out = []
    desc = f"{sampler}-{num_steps}" if sampler else "sample"
    for start in tqdm(range(0, num, bs), desc=desc, disable=not progress, leave=False):
        idx = np.arange(start, start + bs)
        lab = labels[np.minimum(idx, num - 1)] if labels is not None else np.zeros((bs,), np.int32)
        keys = sharding.put_batch(sample_keys(seed, start, bs, stage), mesh)
        lab = sharding.put_batch(np.asarray(lab, np.int32), mesh)
        rows = {k: sharding.put_batch(np.asarray(v)[np.minimum(idx, num - 1)], mesh)
                for k, v in (cond or {}).items()}
        t0 = time.perf_counter()
        steps = None if num_steps is None else jnp.int32(num_steps)
        x = jax.block_until_ready(fn(params, keys, lab, steps, jnp.float32(eta),
                                     jnp.float32(guidance), x_ref, mask, jnp.float32(strength),
                                     cg_params, jnp.float32(cg_scale),
                                     # cond only when given: the call keeps the signature (and
                                     # the compilation) of callers that warm fn up without it
                                     *((rows,) if rows else ())))
        if on_batch is not None:
            on_batch(time.perf_counter() - t0, bs)
        # every process gets the whole batch (its rows live on other processes' devices too)
        x = multihost_utils.process_allgather(x, tiled=True) if jax.process_count() > 1 else jax.device_get(x)
        out.append((to_uint8(x) if as_uint8 else np.asarray(x))[: num - start])
    return np.concatenate(out)
