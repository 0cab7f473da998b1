"""Sample from a trained workdir into an .npz (uint8 images [N,H,W,C], labels) and a PNG grid.

python -m experiments.sample --workdir=runs/mnist --sampler=ddim --steps=50 --eta=0 \
    --num=10000 --seed=0 --out=samples.npz

Text-to-image runs (objective text_ddpm / text_rf) take prompts, tokenised with the run's vocabulary:
python -m experiments.sample --workdir=runs/text_cifar10 --prompt "a photo of a cat" --guidance 4 \
    --num=16 --out=cat.npz

Sample i is drawn from key fold_in(PRNGKey(seed), i): the same seed gives the same samples
whatever the batch size, device count or process count. A relative --out is placed inside --workdir.
"""

from __future__ import annotations

import os

import numpy as np
import jax
from absl import app, flags, logging

from experiments import build, multihost
from experiments.sampling import (MASKS, generate, load_image, load_mask,  # noqa: F401
                                  load_objective_and_params, sample_keys, sampler_fn)
from gen_jax.samplers import SAMPLERS
from gen_jax.samplers.common import SPACINGS
from gen_jax.utils.images import save_grid, to_uint8

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (run.json + checkpoints/).")
_SAMPLER = flags.DEFINE_enum("sampler", "ddim", list(SAMPLERS), "Sampler.")
_STEPS = flags.DEFINE_integer("steps", None, "Network calls (default: T for ddpm, config for ddim).")
_ETA = flags.DEFINE_float("eta", None, "η of ddim (default 0) and euler_ancestral (default 1).")
_SPACING = flags.DEFINE_enum("spacing", "trailing", list(SPACINGS), "Timestep spacing.")
_NUM = flags.DEFINE_integer("num", 100, "Number of samples.")
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_BATCH = flags.DEFINE_integer("batch_size", 500, "Samples per device call (global).")
_OUT = flags.DEFINE_string("out", "samples.npz", "Output .npz (relative paths go in --workdir).")
_CLASS = flags.DEFINE_integer("class", None, "Class label for all samples (conditional models; "
                              "default: labels cycle through the classes).")
_GUIDANCE = flags.DEFINE_float("guidance", 1.0, "Classifier-free guidance scale w: 0 unconditional, "
                                "1 conditional (default), >1 guided.")
_NEG = flags.DEFINE_integer("negative_class", None, "CFG negative conditioning: guide away from "
                            "this class instead of from the unconditional model (needs --guidance).")
_CLF = flags.DEFINE_string("classifier_workdir", None, "Workdir of a noise-conditional classifier "
                           "(configs/classifier_mnist.py) for classifier guidance.")
_CLF_SCALE = flags.DEFINE_float("classifier_scale", 1.0, "Classifier-guidance scale s.")
_STEP = flags.DEFINE_integer("checkpoint_step", None, "Checkpoint step (default: latest).")
_INIT = flags.DEFINE_string("init-image", None, "Image to edit: a PNG/JPEG path or test:INDEX / "
                            "train:INDEX from the run's dataset. Alone: img2img at --strength; "
                            "with --mask: inpainting.")
_MASK = flags.DEFINE_string("mask", None, f"Inpainting mask: one of {MASKS} (the part kept) or an "
                            "image whose white pixels are kept.")
_STRENGTH = flags.DEFINE_float("strength", 0.6, "img2img/SDEdit strength in [0, 1].")
_JUMP = flags.DEFINE_integer("jump_length", 1, "RePaint jump length (inpainting).")
_RESAMPLE = flags.DEFINE_integer("jump_n_sample", 1, "RePaint resamplings per jump (1: none).")
_INTERP = flags.DEFINE_integer("interpolate", 0, "GANs: a slerp grid of --num rows with this many "
                               "columns, row r from the latent of sample 2r to that of 2r+1 (0: off).")
_TRUNC = flags.DEFINE_float("truncation", None, "GANs with a style generator (stylegan2): truncation "
                            "ψ, w = w_avg + ψ·(w - w_avg) (default: the config's sampler.truncation).")
_PROMPT = flags.DEFINE_multi_string("prompt", None, "Text-to-image runs: the prompt (repeat the flag "
                                    "for several; they cycle over the samples). Default: the run's "
                                    "text.preview_prompts.")
_CONTROL = flags.DEFINE_string("control-image", None, "ControlNet runs: the image whose condition "
                               "map (edges or mask, as trained) the samples follow: a PNG/JPEG path "
                               "or test:INDEX / train:INDEX from the run's dataset.")
flags.mark_flags_as_required(["workdir"])


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    multihost.initialize()
    workdir = _WORKDIR.value
    if _PROMPT.value:
        name = build.load_run_info(workdir)[0].objective.name
        if name not in build.TEXT_OBJECTIVES:
            raise app.UsageError(f"--prompt needs a text-to-image run (objective.name one of "
                                 f"{sorted(build.TEXT_OBJECTIVES)}, which have a text encoder); "
                                 f"{workdir} was trained with objective.name {name!r}, which has none")
    c, objective, state, class_names = load_objective_and_params(workdir, _STEP.value)
    if hasattr(objective, "student_sampler"):  # a distilled student: its own sampler and steps
        return _sample_student(objective, state, workdir)
    if hasattr(objective, "tokenizer"):  # text-to-image: prompts instead of class labels
        return _sample_text(c, objective, state.ema_params, workdir)
    if c.objective.name == "controlnet":
        return _sample_control(c, objective, state.ema_params, workdir)
    if _CONTROL.value:
        raise app.UsageError("--control-image needs a ControlNet run (objective.name 'controlnet')")
    if hasattr(objective, "velocity"):  # rectified flow: an ODE in t, its own samplers
        return _sample_flow(c, objective, state.ema_params, workdir)
    if not hasattr(objective, "schedule"):  # a GAN or VAE: one generator call, no sampler options
        return _sample_gan(objective, state.ema_params, workdir)
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
        if _NEG.value is not None and not 0 <= _NEG.value < k:
            raise app.UsageError(f"--negative_class must be in [0, {k - 1}], got {_NEG.value}")
    elif _CLASS.value is not None or _GUIDANCE.value != 1.0 or _NEG.value is not None:
        raise app.UsageError("--class/--guidance need a class-conditional model")
    edit, x_ref, mask, fn, cg_params = None, None, None, None, None
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
                        jump_length=_JUMP.value, jump_n_sample=_RESAMPLE.value, static_steps=steps,
                        negative_class=_NEG.value)
    elif _NEG.value is not None or _CLF.value:
        classifier = None
        if _CLF.value:
            _, classifier, cstate, _ = load_objective_and_params(_CLF.value)
            cg_params = cstate.ema_params
            if not np.allclose(classifier.schedule.alphas_bar, objective.schedule.alphas_bar):
                raise app.UsageError("--classifier_workdir: the classifier was trained on another "
                                     "noise schedule than the diffusion model (objective.schedule/"
                                     "num_timesteps must match)")
            if labels is None:  # an unconditional model guided toward cycling classes
                labels = (np.arange(_NUM.value) % classifier.num_classes).astype(np.int32)
        fn = sampler_fn(objective, _SAMPLER.value, _SPACING.value, objective.num_classes is not None,
                        negative_class=_NEG.value, classifier=classifier)
    eta = _ETA.value if _ETA.value is not None else (1.0 if _SAMPLER.value == "euler_ancestral" else 0.0)
    images = generate(objective, state.ema_params, num=_NUM.value, seed=_SEED.value,
                      sampler=_SAMPLER.value, num_steps=steps, eta=eta,
                      spacing=_SPACING.value, labels=labels, guidance=_GUIDANCE.value,
                      batch_size=_BATCH.value, fn=fn, x_ref=x_ref, mask=mask,
                      strength=_STRENGTH.value, cg_params=cg_params,
                      cg_scale=_CLF_SCALE.value)
    if jax.process_index() != 0:  # every process sampled its rows; process 0 holds them all
        return
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


def _labels(objective, num):
    if objective.num_classes:
        k = objective.num_classes
        if _CLASS.value is not None and not 0 <= _CLASS.value < k:
            raise app.UsageError(f"--class must be in [0, {k - 1}], got {_CLASS.value}")
        return (np.full(num, _CLASS.value, np.int32) if _CLASS.value is not None
                else (np.arange(num) % k).astype(np.int32))
    if _CLASS.value is not None or _GUIDANCE.value != 1.0:
        raise app.UsageError("--class/--guidance need a class-conditional model")
    return None


def _save(workdir, images, labels, ncols=None, max_grid=100):
    out = _OUT.value if os.path.isabs(_OUT.value) else os.path.join(workdir, _OUT.value)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    np.savez(out, images=images, **({} if labels is None else {"labels": labels}))
    grid = save_grid(os.path.splitext(out)[0] + ".png", images[:max_grid], ncols=ncols)
    print(f"wrote {out} ({images.shape}) and {grid}")


def _sample_flow(c, objective, params, workdir):
    """Rectified flow: --sampler euler|heun (default: the config's), --steps, --guidance."""
    from gen_jax.flow.samplers import FLOW_SAMPLERS

    sampler = _SAMPLER.value if _SAMPLER.value in FLOW_SAMPLERS else c.sampler.name
    if _SAMPLER.value not in FLOW_SAMPLERS and _SAMPLER.value != "ddim":  # ddim: the flag's default
        raise app.UsageError(f"--sampler: a rectified-flow run takes one of {list(FLOW_SAMPLERS)}, "
                             f"got {_SAMPLER.value!r}")
    steps = _STEPS.value or c.sampler.num_steps
    if steps < 1:
        raise app.UsageError(f"--steps must be >= 1, got {steps}")
    labels = _labels(objective, _NUM.value)
    images = generate(objective, params, num=_NUM.value, seed=_SEED.value, sampler=sampler,
                      num_steps=steps, labels=labels, guidance=_GUIDANCE.value,
                      batch_size=_BATCH.value)
    ncols = objective.num_classes if labels is not None and _NUM.value % objective.num_classes == 0 else None
    _save(workdir, images, labels, ncols)


def _sample_student(objective, state, workdir):
    """Distilled students (gen_jax.distill): the student's sampler (DDIM / Euler / consistency) at
    --steps (default: the step count of the checkpoint's student, e.g. 4 for the end of the first
    round of an 8-step progressive run, picked with --checkpoint_step)."""
    if _SAMPLER.value != "ddim":  # ddim: the flag's default
        raise app.UsageError(f"--sampler: a distilled student samples with its own sampler "
                             f"({objective.student_sampler}); leave --sampler unset")
    steps = _STEPS.value or objective.student_steps_at(int(state.step))
    if steps < 1:
        raise app.UsageError(f"--steps must be >= 1, got {steps}")
    labels = _labels(objective, _NUM.value)
    images = generate(objective, state.ema_params, num=_NUM.value, seed=_SEED.value,
                      sampler=objective.student_sampler, num_steps=steps, labels=labels,
                      guidance=_GUIDANCE.value, batch_size=_BATCH.value)
    ncols = objective.num_classes if labels is not None and _NUM.value % objective.num_classes == 0 else None
    _save(workdir, images, labels, ncols)


def _sample_text(c, objective, params, workdir):
    """Text-to-image: --prompt (cycled), --guidance (CFG against the empty prompt), --sampler,
    --steps, --eta. Unknown words become <unk>, with a warning."""
    from gen_jax.flow.samplers import FLOW_SAMPLERS

    if _CLASS.value is not None or _NEG.value is not None or _CLF.value or _INIT.value or _MASK.value:
        raise app.UsageError("--class/--negative_class/--classifier_workdir/--init-image/--mask are "
                             "not available for a text-to-image run; use --prompt")
    tok = objective.tokenizer
    prompts = list(_PROMPT.value or objective.preview_prompts or [""])
    for p in prompts:
        unknown = tok.unknown_words(p)
        if unknown:
            logging.warning("prompt %r: %s not in the run's vocabulary (%d words; see text.vocab in "
                            "%s/run.json) and become <unk>", p, ", ".join(repr(w) for w in unknown),
                            len(tok.vocab), workdir)
        if tok.truncated(p):
            logging.warning("prompt %r is longer than text.max_len - 1 = %d words; the rest is cut",
                            p, tok.max_len - 1)
    num = _NUM.value
    per_sample = [prompts[i % len(prompts)] for i in range(num)]
    tokens = tok.encode(per_sample)
    eta = 0.0
    if hasattr(objective, "velocity"):  # rectified flow
        sampler = _SAMPLER.value if _SAMPLER.value in FLOW_SAMPLERS else c.sampler.name
        if _SAMPLER.value not in FLOW_SAMPLERS and _SAMPLER.value != "ddim":
            raise app.UsageError(f"--sampler: a rectified-flow run takes one of {list(FLOW_SAMPLERS)}, "
                                 f"got {_SAMPLER.value!r}")
        steps = _STEPS.value or c.sampler.num_steps
        if steps < 1:
            raise app.UsageError(f"--steps must be >= 1, got {steps}")
    else:
        sampler, T = _SAMPLER.value, objective.schedule.num_timesteps
        steps = _STEPS.value or (T if sampler == "ddpm" else c.sampler.num_steps)
        if not 1 <= steps <= T:
            raise app.UsageError(f"--steps must be in [1, {T}], got {steps}")
        eta = _ETA.value if _ETA.value is not None else (1.0 if sampler == "euler_ancestral" else 0.0)
    images = generate(objective, params, num=num, seed=_SEED.value, sampler=sampler, num_steps=steps,
                      eta=eta, spacing=_SPACING.value, labels=tokens, guidance=_GUIDANCE.value,
                      batch_size=_BATCH.value)
    if jax.process_index() != 0:
        return
    out = _OUT.value if os.path.isabs(_OUT.value) else os.path.join(workdir, _OUT.value)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    np.savez(out, images=images, tokens=tokens, prompts=np.asarray(per_sample))
    ncols = len(prompts) if 1 < len(prompts) and num % len(prompts) == 0 else None
    grid = save_grid(os.path.splitext(out)[0] + ".png", images[:100], ncols=ncols)
    print(f"wrote {out} ({images.shape}, guidance {_GUIDANCE.value}) and {grid}")


def _sample_gan(objective, params, workdir):
    import jax

    from gen_jax.gan.interpolate import slerp_grid

    num, cols = _NUM.value, _INTERP.value
    labels = _labels(objective, num)
    if _TRUNC.value is not None:
        import dataclasses
        import inspect

        gen = type(getattr(objective, "generator", None))
        if "truncation_psi" not in inspect.signature(gen.__call__).parameters:
            raise app.UsageError(f"--truncation needs a GAN generator with a truncation trick "
                                 f"(model.name stylegan2); this run's is {gen.__module__}.{gen.__name__}")
        objective = dataclasses.replace(objective, truncation=_TRUNC.value)
    if cols < 0:
        raise app.UsageError(f"--interpolate must be >= 0, got {cols}")
    ncols = objective.num_classes if labels is not None and num % objective.num_classes == 0 else None
    if cols:  # row r keeps label r along the row
        z = slerp_grid(jax.random.PRNGKey(_SEED.value), num, cols, objective.z_dim)
        labels = None if labels is None else np.repeat(labels, cols)
        images = to_uint8(jax.device_get(jax.jit(objective.generate)(params, z, labels)))
        ncols = cols
    else:
        images = generate(objective, params, num=num, seed=_SEED.value, sampler="gan", num_steps=1,
                          labels=labels, batch_size=_BATCH.value)
    _save(workdir, images, labels, ncols, max(100, cols * num if cols else 0))


def _sample_control(c, objective, params, workdir):
    """ControlNet: --num samples following the condition map of --control-image, with the base
    family's samplers (--sampler/--steps/--eta/--spacing; default: the config's). The grid's first
    tile is the condition map; the .npz also holds it as "hint" (uint8, 255 = edge)."""
    from gen_jax.flow.samplers import FLOW_SAMPLERS

    if not _CONTROL.value:
        raise app.UsageError("--control-image is required for a ControlNet run (test:INDEX or an "
                             "image path)")
    if hasattr(objective.base, "velocity"):  # rectified-flow base
        sampler = c.sampler.name if _SAMPLER.value == "ddim" else _SAMPLER.value  # ddim: the default
        if sampler not in FLOW_SAMPLERS:
            raise app.UsageError(f"--sampler: a rectified-flow base takes one of "
                                 f"{list(FLOW_SAMPLERS)}, got {sampler!r}")
        steps = _STEPS.value or c.sampler.num_steps
        if steps < 1:
            raise app.UsageError(f"--steps must be >= 1, got {steps}")
    else:
        sampler, T = _SAMPLER.value, objective.base.schedule.num_timesteps
        steps = _STEPS.value or (T if sampler == "ddpm" else c.sampler.num_steps)
        if not 1 <= steps <= T:
            raise app.UsageError(f"--steps must be in [1, {T}], got {steps}")
    labels = _labels(objective, _NUM.value)
    x_ref = load_image(_CONTROL.value, objective.image_shape, c.data.name, c.data.dir or None)
    conditional = labels is not None

    @jax.jit
    def fn(params, keys, lab, num_steps, eta, guidance, x_ref, *unused):
        return objective.sample(params, keys, control_image=x_ref, sampler=sampler,
                                num_steps=num_steps, eta=eta, labels=lab if conditional else None,
                                guidance=guidance, spacing=_SPACING.value)

    eta = _ETA.value if _ETA.value is not None else (1.0 if sampler == "euler_ancestral" else 0.0)
    images = generate(objective, params, num=_NUM.value, seed=_SEED.value, sampler=sampler,
                      num_steps=steps, eta=eta, labels=labels, guidance=_GUIDANCE.value,
                      batch_size=_BATCH.value, fn=fn, x_ref=x_ref)
    if jax.process_index() != 0:
        return
    hint = to_uint8(np.asarray(objective.hint(x_ref[None]))[0] * 2.0 - 1.0)
    out = _OUT.value if os.path.isabs(_OUT.value) else os.path.join(workdir, _OUT.value)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    np.savez(out, images=images, hint=hint, **({} if labels is None else {"labels": labels}))
    shown = np.concatenate([np.broadcast_to(hint, (1, *hint.shape[:2], images.shape[-1])),
                            images[:99]])
    grid = save_grid(os.path.splitext(out)[0] + ".png", shown)
    print(f"wrote {out} ({images.shape}) and {grid}")


if __name__ == "__main__":
    app.run(main)
