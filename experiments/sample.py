"""Sample from a trained workdir into an .npz (uint8 images [N,H,W,C], labels) and a PNG grid.

python -m experiments.sample --workdir=runs/mnist --sampler=ddim --steps=50 --eta=0 \
    --num=10000 --seed=0 --out=samples.npz

Sample i is drawn from key fold_in(PRNGKey(seed), i): the same seed gives the same samples
whatever the batch size or device count. A relative --out is placed inside --workdir.
"""

from __future__ import annotations

import os
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging
from tqdm.auto import tqdm

from experiments import build
from gen_jax.samplers import SAMPLERS
from gen_jax.samplers.common import SPACINGS
from gen_jax.samplers.editing import img2img, inpaint
from gen_jax.train import checkpoint, sharding
from gen_jax.utils.images import save_grid, to_uint8

MASKS = ("left", "right", "top", "bottom", "center")

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (run.json + checkpoints/).")
_SAMPLER = flags.DEFINE_enum("sampler", "ddim", list(SAMPLERS), "Sampler.")
_STEPS = flags.DEFINE_integer("steps", None, "Network calls (default: T for ddpm, config for ddim).")
_ETA = flags.DEFINE_float("eta", 0.0, "DDIM eta.")
_SPACING = flags.DEFINE_enum("spacing", "trailing", list(SPACINGS), "Timestep spacing.")
_NUM = flags.DEFINE_integer("num", 100, "Number of samples.")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_BATCH = flags.DEFINE_integer("batch_size", 500, "Samples per device call (global).")
_OUT = flags.DEFINE_string("out", "samples.npz", "Output .npz (relative paths go in --workdir).")
_CLASS = flags.DEFINE_integer("class", None, "Class label for all samples (conditional models; "
                              "default: labels cycle through the classes).")
_GUIDANCE = flags.DEFINE_float("guidance", 1.0, "Classifier-free guidance scale w: 0 unconditional, "
                                "1 conditional (default), >1 guided.")
_STEP = flags.DEFINE_integer("checkpoint_step", None, "Checkpoint step (default: latest).")
_INIT = flags.DEFINE_string("init-image", None, "Image to edit: a PNG/JPEG path or test:INDEX / "
                            "train:INDEX from the run's dataset. Alone: img2img at --strength; "
                            "with --mask: inpainting.")
_MASK = flags.DEFINE_string("mask", None, f"Inpainting mask: one of {MASKS} (the part kept) or an "
                            "image whose white pixels are kept.")
_STRENGTH = flags.DEFINE_float("strength", 0.6, "img2img/SDEdit strength in [0, 1].")
_JUMP = flags.DEFINE_integer("jump_length", 1, "RePaint jump length (inpainting).")
_RESAMPLE = flags.DEFINE_integer("jump_n_sample", 1, "RePaint resamplings per jump (1: none).")
flags.mark_flags_as_required(["workdir"])


def load_objective_and_params(workdir: str, step: int | None = None):
    """Rebuild the objective from workdir/run.json and restore the EMA parameters."""
    c, image_shape, num_classes, class_names = build.load_run_info(workdir)
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


def sampler_fn(objective, sampler: str, spacing: str = "trailing", conditional: bool = False,
               mesh=None, on_trace=None, edit: str | None = None, jump_length: int = 1,
               jump_n_sample: int = 1, static_steps: int | None = None):
    """A jitted fn(params, keys [B,2], labels [B], num_steps, eta, guidance, x_ref [H,W,C],
    mask [H,W,C], strength) -> images [B,H,W,C].

    edit: None (plain sampling; x_ref/mask/strength unused), "inpaint" (keep x_ref where mask = 1)
    or "img2img" (SDEdit from x_ref at `strength`). num_steps, eta, guidance and strength are
    runtime values: one compilation per batch shape serves a whole sweep (RePaint resampling,
    jump_n_sample > 1, needs static_steps). on_trace() is called each time JAX traces."""
    mesh = mesh or sharding.make_mesh()
    if edit not in (None, "inpaint", "img2img"):
        raise ValueError(f"unknown edit {edit!r}; expected None, 'inpaint' or 'img2img'")

    @partial(jax.jit, out_shardings=sharding.batch_sharding(mesh))
    def run(params, keys, labels, num_steps, eta, guidance, x_ref, mask, strength):
        if on_trace is not None:
            on_trace()
        labels = labels if conditional else None
        if edit is None:
            return objective.sample(params, keys, sampler=sampler, num_steps=num_steps, eta=eta,
                                    labels=labels, guidance=guidance, spacing=spacing)
        denoise = objective.denoiser(params, labels, guidance)
        x_ref = jnp.broadcast_to(x_ref, (keys.shape[0], *x_ref.shape))
        if edit == "img2img":
            return img2img(denoise, objective.schedule, x_ref, keys, num_steps, strength,
                           eta=eta, spacing=spacing)
        x_T = jax.vmap(lambda k: jax.random.normal(k, objective.image_shape))(keys)
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
        n = static_steps if jump_n_sample > 1 else num_steps
        return inpaint(denoise, objective.schedule, x_T, step_keys, n, x_ref, mask, eta=eta,
                       spacing=spacing, jump_length=jump_length, jump_n_sample=jump_n_sample)

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


def sample_keys(seed: int, start: int, count: int):
    """Per-sample keys fold_in(PRNGKey(seed), i) for i in [start, start + count)."""
    base = jax.random.PRNGKey(seed)
    return np.asarray(jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(start, start + count)))


def generate(objective, params, *, num: int, seed: int, sampler: str, num_steps: int, eta: float = 0.0,
             spacing: str = "trailing", labels=None, guidance: float = 1.0, batch_size: int = 500,
             progress: bool = True, fn=None, on_batch=None, x_ref=None, mask=None, strength=0.0):
    """All samples as uint8 [num, H, W, C], in batches of batch_size (rounded up to the device
    count; the last batch is padded, then cut). fn: a prebuilt sampler_fn (to reuse its
    compilation, or for editing with x_ref/mask/strength); on_batch(seconds, batch_size) is
    called with each batch's wall time."""
    mesh = sharding.make_mesh()
    bs = min(batch_size, num)
    bs = -(-bs // mesh.devices.size) * mesh.devices.size
    fn = fn or sampler_fn(objective, sampler, spacing, labels is not None, mesh)
    x_ref = jnp.zeros(objective.image_shape) if x_ref is None else jnp.asarray(x_ref, jnp.float32)
    mask = jnp.zeros(objective.image_shape) if mask is None else jnp.asarray(mask, jnp.float32)
    out = []
    for start in tqdm(range(0, num, bs), desc=f"{sampler}-{num_steps}", disable=not progress, leave=False):
        idx = np.arange(start, start + bs)
        lab = labels[np.minimum(idx, num - 1)] if labels is not None else np.zeros((bs,), np.int32)
        keys = sharding.put_batch(sample_keys(seed, start, bs), mesh)
        lab = sharding.put_batch(np.asarray(lab, np.int32), mesh)
        t0 = time.perf_counter()
        x = jax.block_until_ready(fn(params, keys, lab, jnp.int32(num_steps), jnp.float32(eta),
                                     jnp.float32(guidance), x_ref, mask, jnp.float32(strength)))
        if on_batch is not None:
            on_batch(time.perf_counter() - t0, bs)
        out.append(to_uint8(jax.device_get(x))[: num - start])
    return np.concatenate(out)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    workdir = _WORKDIR.value
    c, objective, state, class_names = load_objective_and_params(workdir, _STEP.value)
    T = objective.schedule.num_timesteps
    steps = _STEPS.value or (T if _SAMPLER.value == "ddpm" else c.sampler.num_steps)
    if not 1 <= steps <= T:
        raise app.UsageError(f"--steps must be in [1, {T}], got {steps}")
    labels = None
    if objective.num_classes:
        k = objective.num_classes
        if _CLASS.value is not None and not 0 <= _CLASS.value < k:
            raise app.UsageError(f"--class must be in [0, {k - 1}], got {_CLASS.value}")
        labels = (np.full(_NUM.value, _CLASS.value, np.int32) if _CLASS.value is not None
                  else (np.arange(_NUM.value) % k).astype(np.int32))
    elif _CLASS.value is not None or _GUIDANCE.value != 1.0:
        raise app.UsageError("--class/--guidance need a class-conditional model")
    edit, x_ref, mask, fn = None, None, None, None
    if _MASK.value and not _INIT.value:
        raise app.UsageError("--mask needs --init-image (the image whose kept pixels are known)")
    if _INIT.value:
        if _SAMPLER.value != "ddim":
            raise app.UsageError("--init-image/--mask run DDIM(η) steps: use --sampler=ddim")
        if not 0.0 <= _STRENGTH.value <= 1.0:
            raise app.UsageError(f"--strength must be in [0, 1], got {_STRENGTH.value}")
        x_ref = load_image(_INIT.value, objective.image_shape, c.data.name, c.data.dir or None)
        edit = "img2img"
        if _MASK.value:
            edit, mask = "inpaint", load_mask(_MASK.value, objective.image_shape)
        fn = sampler_fn(objective, "ddim", _SPACING.value, labels is not None, edit=edit,
                        jump_length=_JUMP.value, jump_n_sample=_RESAMPLE.value, static_steps=steps)
    images = generate(objective, state.ema_params, num=_NUM.value, seed=_SEED.value,
                      sampler=_SAMPLER.value, num_steps=steps, eta=_ETA.value,
                      spacing=_SPACING.value, labels=labels, guidance=_GUIDANCE.value,
                      batch_size=_BATCH.value, fn=fn, x_ref=x_ref, mask=mask,
                      strength=_STRENGTH.value)
    out = _OUT.value if os.path.isabs(_OUT.value) else os.path.join(workdir, _OUT.value)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    arrays = {"images": images}
    if labels is not None:
        arrays["labels"] = labels
    np.savez(out, **arrays)
    grid = os.path.splitext(out)[0] + ".png"
    n = min(100, len(images))
    ncols = objective.num_classes if labels is not None and n % objective.num_classes == 0 else None
    shown = images[:n]
    if x_ref is not None:  # first tile: the input (masked-out pixels grey)
        ref = x_ref if mask is None else x_ref * mask
        shown = np.concatenate([to_uint8(ref)[None], images[: n - 1]])
        ncols = None
    save_grid(grid, shown, ncols=ncols)
    print(f"wrote {out} ({images.shape}) and {grid}")


if __name__ == "__main__":
    app.run(main)
