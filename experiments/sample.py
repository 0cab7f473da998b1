"""Sample from a trained workdir into an .npz (uint8 images [N,H,W,C], labels) and a PNG grid.

python -m experiments.sample --workdir=runs/mnist --sampler=ddim --steps=50 --eta=0 \
    --num=10000 --seed=0 --out=samples_ddim50.npz

One path serves every family: an option reaches the model only if its family (and sampler)
takes it, and a flag the run cannot use is an error naming the flag and the family. Iterative
families (DDPM, rectified flow, generalized diffusion, latent diffusion, text-to-image, ControlNet)
run every sampler of gen_jax.samplers.SAMPLERS; GANs and VAEs draw in one call; distilled students
use their own sampler. Text-to-image runs take prompts, tokenised with the run's vocabulary:
python -m experiments.sample --workdir=runs/text_cifar10 --prompt "a photo of a cat" --guidance 4
Super-resolution runs upscale a base run's samples (--cascade_from=BASE_RUN) or one image
(--init-image=PATH --upscale); video runs also write <out>.gif; CycleGAN runs translate test
images or --init-image (--direction=a2b|b2a); see docs/super_resolution.md, video.md, cyclegan.md.

Sample i is drawn from key fold_in(PRNGKey(seed), i): the same seed gives the same samples
whatever the batch size, device count or process count. A relative --out is placed inside
--workdir; the default (generated.npz) never overwrites the training run's samples.png.
"""

from __future__ import annotations

import inspect
import os
import warnings

import jax
import numpy as np
from absl import app, flags, logging

from experiments import build, multihost
from experiments.workdir import load_run_info
from experiments.sampling import (MASKS, generate, iterative, load_image, load_mask,  # noqa: F401
                                  load_objective_and_params, sample_keys, sampler_fn)
from gen_jax.objective import sample_options
from gen_jax.samplers import SAMPLERS
from gen_jax.samplers.common import SPACINGS
from gen_jax.utils.images import save_grid, to_uint8

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _WORKDIR, _SAMPLER, _STEPS, _ETA, _SPACING, _SHIFT, _NUM, _SEED, _BATCH, _OUT
    global _OVERWRITE, _CLASS, _GUIDANCE, _NEG, _CLF, _CLF_SCALE, _STEP, _INIT, _MASK, _STRENGTH
    global _JUMP, _RESAMPLE, _INTERP, _TRUNC, _PROMPT, _CONTROL, _CASCADE, _BASE_SAMPLER
    global _BASE_STEPS, _UPSCALE, _AUG, _DIRECTION
    if "_WORKDIR" in globals():  # already defined in this process
        return
    _WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (run.json + checkpoints/).")
    _SAMPLER = flags.DEFINE_string("sampler", None, f"Sampler, one of {list(SAMPLERS)} (default: the "
                                   "run's config.sampler.name).")
    _STEPS = flags.DEFINE_integer("steps", None, "Sampler steps, >= 1 (default: T for ddpm on a DDPM "
                                  "run, else the config's sampler.num_steps).")
    _ETA = flags.DEFINE_float("eta", None, "η in [0, 1] of ddim (default 0) and euler_ancestral "
                              "(default 1).")
    _SPACING = flags.DEFINE_enum("spacing", None, list(SPACINGS), "Timestep spacing of the VP-view "
                                 "samplers (default: the config's).")
    _SHIFT = flags.DEFINE_float("shift", None, "SD3 time shift (> 0) of rf_euler / rf_heun.")
    _NUM = flags.DEFINE_integer("num", 100, "Number of samples (>= 1).")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
    _BATCH = flags.DEFINE_integer("batch_size", 500, "Samples per device call (global, >= 1).")
    _OUT = flags.DEFINE_string("out", "generated.npz", "Output .npz (relative paths go in --workdir).")
    _OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing --out file.")
    _CLASS = flags.DEFINE_integer("class", None, "Class label for all samples (conditional models; "
                                  "default: labels cycle through the classes).")
    _GUIDANCE = flags.DEFINE_float("guidance", None, "Classifier-free guidance scale w: 0 unconditional, "
                                   "1 conditional (default), >1 guided.")
    _NEG = flags.DEFINE_integer("negative_class", None, "CFG negative conditioning: guide away from "
                                "this class instead of from the unconditional model (needs --guidance).")
    _CLF = flags.DEFINE_string("classifier_workdir", None, "Workdir of a noise-conditional classifier "
                               "(configs/classifier_mnist.py) for classifier guidance.")
    _CLF_SCALE = flags.DEFINE_float("classifier_scale", 1.0, "Classifier-guidance scale s.")
    _STEP = flags.DEFINE_integer("checkpoint_step", None, "Checkpoint step (default: latest).")
    _INIT = flags.DEFINE_string("init-image", None, "Image to edit: a PNG/JPEG path or test:INDEX / "
                                "train:INDEX from the run's dataset. Alone: img2img at --strength; "
                                "with --mask: inpainting; super-resolution runs: with --upscale, the "
                                "image to upscale; CycleGAN runs: the image to translate.")
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
    _CASCADE = flags.DEFINE_string("cascade_from", None, "Super-resolution runs: the workdir of a base "
                                   "run (an iterative family sampling at the SR model's low-res shape) "
                                   "whose --num samples the SR model upscales.")
    _BASE_SAMPLER = flags.DEFINE_string("base_sampler", None, "--cascade_from: the base stage's sampler "
                                        "(default: the base run's config.sampler.name).")
    _BASE_STEPS = flags.DEFINE_integer("base_steps", None, "--cascade_from: the base stage's steps, >= 1 "
                                       "(default: as --steps, for the base run).")
    _UPSCALE = flags.DEFINE_bool("upscale", False, "Super-resolution runs: upscale --init-image (box-"
                                 "downsampled to the model's low-res size unless given at that size), "
                                 "--num samples of it.")
    _AUG = flags.DEFINE_float("aug_level", None, "Super-resolution runs: noise-augmentation level of the "
                              "low-res input in [0, 1] (process time; 0: clean; default: the run's "
                              "sampler.aug_level).")
    _DIRECTION = flags.DEFINE_enum("direction", None, ["a2b", "b2a"], "CycleGAN runs: translate domain A "
                                   "to B (a2b, default) or B to A.")


def _usage(cond: bool, message: str) -> None:
    if not cond:
        raise app.UsageError(message)


def _check_counts() -> None:
    """Counts and ranges, with 0 a value like any other (None: not given)."""
    _usage(_NUM.value >= 1, f"--num must be >= 1, got {_NUM.value}")
    _usage(_BATCH.value >= 1, f"--batch_size must be >= 1, got {_BATCH.value}")
    _usage(_STEPS.value is None or _STEPS.value >= 1, f"--steps must be >= 1, got {_STEPS.value}")
    _usage(_ETA.value is None or 0.0 <= _ETA.value <= 1.0, f"--eta must be in [0, 1], got {_ETA.value}")
    _usage(_SHIFT.value is None or _SHIFT.value > 0, f"--shift must be > 0, got {_SHIFT.value}")
    _usage(0.0 <= _STRENGTH.value <= 1.0, f"--strength must be in [0, 1], got {_STRENGTH.value}")
    _usage(_INTERP.value >= 0, f"--interpolate must be >= 0, got {_INTERP.value}")
    _usage(_JUMP.value >= 1 and _RESAMPLE.value >= 1, "--jump_length and --jump_n_sample must be >= 1")
    _usage(_AUG.value is None or 0.0 <= _AUG.value <= 1.0, f"--aug_level must be in [0, 1], got {_AUG.value}")
    _usage(_BASE_STEPS.value is None or _BASE_STEPS.value >= 1,
           f"--base_steps must be >= 1, got {_BASE_STEPS.value}")


def _labels(c, objective, family: str, takes: set, num_classes: int | None = None):
    """Per-sample conditioning: prompt tokens (text runs), class labels, or None. num_classes:
    the classes of the labels (default: the objective's; a cascade: those of either stage)."""
    tok = getattr(objective, "tokenizer", None)
    num = _NUM.value
    if _PROMPT.value and tok is None:
        raise app.UsageError(f"--prompt needs a text-to-image run (objective text_ddpm / text_rf); "
                             f"this is a {family} run")
    if tok is not None:
        _usage(_CLASS.value is None and _NEG.value is None and not _CLF.value,
               "--class/--negative_class/--classifier_workdir are not available for a "
               "text-to-image run; use --prompt")
        prompts = list(_PROMPT.value or objective.preview_prompts or [""])
        for p in prompts:
            unknown = tok.unknown_words(p)
            if unknown:
                warnings.warn(f"prompt {p!r}: {', '.join(map(repr, unknown))} not in the run's "
                              "vocabulary (see text.vocab in run.json) and become <unk>")
            if tok.truncated(p):
                warnings.warn(f"prompt {p!r} is longer than text.max_len - 1 = {tok.max_len - 1} "
                              "words; the rest is cut")
        return tok.encode([prompts[i % len(prompts)] for i in range(num)]), prompts
    k = objective.num_classes if num_classes is None else num_classes
    if not k:
        _usage(_CLASS.value is None and _NEG.value is None and _GUIDANCE.value is None,
               f"--class/--negative_class/--guidance need a class-conditional model; this {family} "
               f"run has none")
        return None, None
    _usage(_CLASS.value is None or 0 <= _CLASS.value < k, f"--class must be in [0, {k - 1}], got {_CLASS.value}")
    _usage(_NEG.value is None or 0 <= _NEG.value < k,
           f"--negative_class must be in [0, {k - 1}], got {_NEG.value}")
    labels = (np.full(num, _CLASS.value, np.int32) if _CLASS.value is not None
              else (np.arange(num) % k).astype(np.int32))
    return labels, None


def _table_size(objective) -> int:
    """Entries of the VP-view table the VP samplers step on (DDPM runs: T; others: 1000)."""
    for obj in (objective, getattr(objective, "inner", None), getattr(objective, "base", None)):
        schedule = getattr(obj, "schedule", None)
        if schedule is not None:
            return int(schedule.num_timesteps)
    return 1000


def _default_eta(sampler: str | None) -> float:
    if sampler in SAMPLERS and "eta" in SAMPLERS[sampler].options:
        return inspect.signature(SAMPLERS[sampler].fn).parameters["eta"].default
    return 0.0


def _choose_sampler(c, objective, family: str, state, sampler_flag, steps_flag, prefix: str = ""):
    """(sampler, steps) of a run: the flags' values (--{prefix}sampler, --{prefix}steps) or the
    config's, checked against the family and the run's noise table."""
    student = getattr(objective, "student_sampler", None)
    if student:
        _usage(sampler_flag in (None, student), f"--{prefix}sampler: a distilled student of this "
               f"{family} run samples with its own sampler {student!r}; leave --{prefix}sampler unset")
        sampler = student if student in SAMPLERS else None
        steps = steps_flag or (objective.student_steps_at(int(state.step))
                               if hasattr(objective, "student_steps_at") else None)
    elif iterative(objective):
        sampler = sampler_flag or c.sampler.name
        _usage(sampler in SAMPLERS, f"--{prefix}sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
        T = _table_size(objective)
        steps = steps_flag or (T if sampler == "ddpm" else c.sampler.num_steps)
        if SAMPLERS[sampler].view == "vp":
            _usage(steps <= T, f"--{prefix}steps must be in [1, {T}] for {sampler!r} on this "
                               f"{family} run's {T}-entry noise table, got {steps}")
    else:  # one-shot families, or decoders with their own step count (MaskGIT: a static int)
        sampler, steps = None, None
    return sampler, steps


def _plan(c, objective, family: str, state):
    """(sampler, steps, spacing, static options) for this run, checking every given flag against
    what the family and its sampler take."""
    is_iterative = iterative(objective)
    student = getattr(objective, "student_sampler", None)
    sampler, steps = _choose_sampler(c, objective, family, state, _SAMPLER.value, _STEPS.value)
    takes = sample_options(objective, sampler)
    given = {"sampler": _SAMPLER.value, "num_steps": _STEPS.value, "eta": _ETA.value,
             "spacing": _SPACING.value, "shift": _SHIFT.value, "guidance": _GUIDANCE.value,
             "truncation": _TRUNC.value}
    for option, value in given.items():
        if value is not None and option not in takes and not (option == "sampler" and student):
            flag = {"num_steps": "steps"}.get(option, option)
            why = f"sampler {sampler!r}" if sampler and option in ("eta", "spacing", "shift") else \
                f"a {family} run"
            raise app.UsageError(f"--{flag}: {why} does not take it (it takes "
                                 f"{sorted(takes - {'guide', 'debug', 'return_trajectory'})})")
    if _TRUNC.value is not None:
        gen = getattr(objective, "generator", None)
        _usage(gen is not None and "truncation_psi" in inspect.signature(type(gen).__call__).parameters,
               f"--truncation needs a GAN generator with a truncation trick (model.name stylegan2); "
               f"this is a {family} run with model {c.model.name!r}")
    spacing = _SPACING.value or c.sampler.get("spacing", "trailing")
    static = {"shift": _SHIFT.value} if _SHIFT.value is not None else {}
    if not is_iterative and not student and _STEPS.value is not None:
        static["num_steps"] = _STEPS.value
    if _TRUNC.value is not None:
        static["truncation"] = _TRUNC.value
    return sampler, steps, spacing, static, takes


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    multihost.initialize()
    _check_counts()
    workdir = _WORKDIR.value
    out = _OUT.value if os.path.isabs(_OUT.value) else os.path.join(workdir, _OUT.value)
    grid = os.path.splitext(out)[0] + ".png"
    run_config = load_run_info(workdir)[0]  # checked before the checkpoint is read
    gif = os.path.splitext(out)[0] + ".gif" if run_config.objective.name == "video" else None
    for path in (out, grid, gif):
        _usage(path is None or _OVERWRITE.value or not os.path.exists(path),
               f"{path} exists; pass --overwrite to replace it, or choose another --out")
    _usage(not _PROMPT.value or run_config.objective.name in build.TEXT_OBJECTIVES,
           f"--prompt needs a text-to-image run (objective {' / '.join(build.TEXT_OBJECTIVES)}); "
           f"this is a {run_config.objective.name!r} run")
    c, objective, state, _ = load_objective_and_params(workdir, _STEP.value)
    family = c.objective.name
    sampler, steps, spacing, static, takes = _plan(c, objective, family, state)
    _check_family_flags(family, takes)
    if "lowres" in takes:
        return _super_resolution(c, objective, state, family, (sampler, steps, spacing, static, takes),
                                 out, grid)
    if "direction" in takes:
        return _translate(c, objective, state.ema_params, family, out, grid)
    labels, prompts = _labels(c, objective, family, takes)
    if _CONTROL.value:
        _usage("control_image" in takes, f"--control-image needs a ControlNet run; this is a {family} run")
    _usage(not ("control_image" in takes and not _CONTROL.value),
           "--control-image is required for a ControlNet run (test:INDEX or an image path)")
    if _INTERP.value:
        return _interpolate(objective, state.ema_params, labels, workdir, out)
    edit, x_ref, mask, classifier, cg_params = None, None, None, None, None
    _usage(not _MASK.value or _INIT.value, "--mask needs --init-image (the image whose kept pixels are known)")
    if _INIT.value:
        _usage(hasattr(objective, "views"), f"--init-image needs an iterative model; this is a {family} run")
        _usage(sampler == "ddim", "--init-image/--mask run DDIM(η) steps: use --sampler=ddim")
        x_ref = load_image(_INIT.value, objective.image_shape, c.data.name, c.data.dir or None)
        edit = "inpaint" if _MASK.value else "img2img"
        mask = load_mask(_MASK.value, objective.image_shape) if _MASK.value else None
    if _CONTROL.value:
        x_ref = load_image(_CONTROL.value, objective.image_shape, c.data.name, c.data.dir or None)
    if _CLF.value:
        _usage(hasattr(objective, "schedule") and "guide" in takes,
               f"--classifier_workdir needs a DDPM-family run; this is a {family} run")
        _, classifier, cstate, _ = load_objective_and_params(_CLF.value)
        cg_params = cstate.ema_params
        _usage(np.allclose(classifier.schedule.alphas_bar, objective.schedule.alphas_bar),
               "--classifier_workdir: the classifier was trained on another noise schedule than the "
               "diffusion model (objective.schedule/num_timesteps must match)")
        if labels is None:
            labels = (np.arange(_NUM.value) % classifier.num_classes).astype(np.int32)
    eta = _ETA.value if _ETA.value is not None else _default_eta(sampler)
    fn = sampler_fn(objective, sampler, spacing, labels is not None, edit=edit,
                    jump_length=_JUMP.value, jump_n_sample=_RESAMPLE.value, static_steps=steps,
                    negative_class=_NEG.value, classifier=classifier, control=bool(_CONTROL.value),
                    **static)
    images = generate(objective, state.ema_params, num=_NUM.value, seed=_SEED.value, sampler=sampler,
                      num_steps=steps, eta=eta, spacing=spacing, labels=labels,
                      guidance=1.0 if _GUIDANCE.value is None else _GUIDANCE.value,
                      batch_size=_BATCH.value, fn=fn, x_ref=x_ref, mask=mask,
                      strength=_STRENGTH.value, cg_params=cg_params, cg_scale=_CLF_SCALE.value)
    if jax.process_index() != 0:  # every process sampled its rows; process 0 holds them all
        return
    arrays = {"images": images}
    first = None  # the grid's first tile: the edited image or the condition map
    if prompts is not None:
        arrays.update(tokens=labels, prompts=np.asarray([prompts[i % len(prompts)] for i in range(_NUM.value)]))
    elif labels is not None:
        arrays["labels"] = labels
    if edit:
        first = to_uint8(x_ref if mask is None else x_ref * mask)
    if _CONTROL.value:
        hint = to_uint8(np.asarray(objective.hint(np.asarray(x_ref)[None]))[0] * 2.0 - 1.0)
        arrays["hint"] = hint
        first = np.broadcast_to(hint, (*hint.shape[:2], images.shape[-1]))
    ncols = None
    if prompts is not None and 1 < len(prompts) and _NUM.value % len(prompts) == 0:
        ncols = len(prompts)
    elif labels is not None and objective.num_classes and prompts is None and first is None \
            and min(100, _NUM.value) % objective.num_classes == 0:
        ncols = objective.num_classes
    if images.ndim == 5:  # video clips [N, T, H, W, C]: a GIF grid, and one clip per PNG row
        return _write(out, grid, arrays, images[: max(1, 100 // images.shape[1])].reshape(
            -1, *images.shape[2:]), images.shape[1], clips=(gif, ncols))
    shown = images[:100] if first is None else np.concatenate([first[None], images[:99]])
    _write(out, grid, arrays, shown, ncols)


def _write(out: str, grid: str, arrays: dict, shown, ncols, clips=None) -> None:
    """The npz, the PNG grid of `shown`, and with clips=(path, ncols) a GIF grid of the clips."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    np.savez(out, **arrays)
    save_grid(grid, shown, ncols=ncols)
    also = grid
    if clips is not None:
        from gen_jax.utils.video import save_gif

        also = f"{grid} and {save_gif(clips[0], arrays['images'][:100], ncols=clips[1])}"
    print(f"wrote {out} ({arrays['images'].shape}), {also}")


def _given(name: str) -> bool:
    return bool(flags.FLAGS[name].present)


def _reject(family: str, *names: str) -> None:
    """A usage error for the first of these flags that was given: this family does not take it."""
    for name in names:
        if _given(name):
            raise app.UsageError(f"--{name}: a {family} run does not take it")


def _check_family_flags(family: str, takes: set) -> None:
    """The flags of one family (super-resolution, CycleGAN) are errors on the others."""
    sr_flags = ("cascade_from", "base_sampler", "base_steps", "upscale", "aug_level")
    if "lowres" not in takes:
        for name in sr_flags:
            _usage(not _given(name), f"--{name} needs a super-resolution run (objective sr); this "
                                     f"is a {family} run")
    if "direction" not in takes:
        _usage(not _given("direction"), f"--direction needs a CycleGAN run (objective cyclegan); "
                                        f"this is a {family} run")
    _usage(not _given("negative_class") or "negative_labels" in takes,
           f"--negative_class: a {family} run does not take it")
    for name in ("base_sampler", "base_steps"):
        _usage(not _given(name) or _CASCADE.value, f"--{name} needs --cascade_from (the base run)")
    _usage(not _UPSCALE.value or _INIT.value, "--upscale needs --init-image (the image to upscale)")


def _super_resolution(c, sr, state, family, plan, out, grid):
    """SR runs: the SR model on the samples of a base run (--cascade_from; stage s of sample i
    draws with fold_in(fold_in(PRNGKey(seed), i), s), as gen_jax.sr.cascade.cascade_sample with
    per-sample keys) or on one image (--init-image --upscale, sample i with fold_in(PRNGKey(seed), i))."""
    sampler, steps, spacing, static, takes = plan
    _reject(family, "mask", "interpolate", "classifier_workdir", "control-image", "strength",
            "jump_length", "jump_n_sample")
    _usage(not (_CASCADE.value and _INIT.value), "--cascade_from and --init-image: a super-resolution "
           "run upscales one or the other; pass one")
    _usage(not _INIT.value or _UPSCALE.value, "--init-image on a super-resolution run needs --upscale "
           "(img2img and inpainting are not available for sr)")
    _usage(bool(_CASCADE.value or _INIT.value), "a super-resolution run upscales low-res inputs: pass "
           "--cascade_from=BASE_RUN (its samples) or --init-image=PATH --upscale (one image)")
    num, h, ch = _NUM.value, sr.lowres_size, sr.image_shape[2]
    if _CASCADE.value:
        base, base_params, base_plan = _cascade_base(sr)
        classes = [k for k in (sr.num_classes, base.num_classes) if k]
        labels, _ = _labels(c, sr, family, takes, num_classes=min(classes) if classes else 0)
        _usage(_GUIDANCE.value is None or sr.num_classes, "--guidance: the super-resolution stage "
               "of this cascade is not class-conditional (the base stage samples at guidance 1)")
        bsampler, bsteps, bspacing = base_plan
        conditional = bool(base.num_classes) and labels is not None
        fn = sampler_fn(base, bsampler, bspacing, conditional, static_steps=bsteps)
        low = generate(base, base_params, num=num, seed=_SEED.value, sampler=bsampler, num_steps=bsteps,
                       eta=_default_eta(bsampler), spacing=bspacing,
                       labels=labels if conditional else None, batch_size=_BATCH.value, fn=fn,
                       stage=0, as_uint8=False)
    else:
        labels, _ = _labels(c, sr, family, takes)
        low = np.broadcast_to(_load_lowres(_INIT.value, sr, c), (num, h, h, ch))
    aug = c.sampler.get("aug_level", 0.0) if _AUG.value is None else _AUG.value
    conditional = bool(sr.num_classes) and labels is not None
    fn = sampler_fn(sr, sampler, spacing, conditional, static_steps=steps, **dict(static, aug_level=aug))
    eta = _ETA.value if _ETA.value is not None else _default_eta(sampler)
    images = generate(sr, state.ema_params, num=num, seed=_SEED.value, sampler=sampler, num_steps=steps,
                      eta=eta, spacing=spacing, labels=labels if conditional else None,
                      guidance=1.0 if _GUIDANCE.value is None else _GUIDANCE.value,
                      batch_size=_BATCH.value, fn=fn, stage=1 if _CASCADE.value else None,
                      cond={"lowres": np.asarray(low, np.float32)})
    if jax.process_index() != 0:
        return
    lowres = to_uint8(low)
    arrays = {"images": images, "lowres": lowres, **({} if labels is None else {"labels": labels})}
    # rows of up to 10: the low-res inputs (nearest, at full size) above their upscaled samples
    f, cols = sr.image_shape[0] // h, min(num, 10)
    up = np.repeat(np.repeat(lowres, f, axis=1), sr.image_shape[1] // h, axis=2)
    shown = np.concatenate([np.concatenate([up[i:i + cols], images[i:i + cols]])
                            for i in range(0, min(num, 50), cols)])
    _write(out, grid, arrays, shown, cols)


def _cascade_base(sr):
    """(objective, params, (sampler, steps, spacing)) of the --cascade_from run, checked:
    an iterative family sampling from noise at the SR model's low-res shape."""
    path = _CASCADE.value
    base_c, base, base_state, _ = load_objective_and_params(path)
    bfamily = base_c.objective.name
    own_inputs = {"lowres", "control_image", "known", "images"} & sample_options(base)
    _usage(iterative(base) and getattr(base, "tokenizer", None) is None and not own_inputs,
           f"--cascade_from: the base run must be an iterative image family sampling from noise "
           f"(diffusion, flow, latent diffusion); {path} is a {bfamily} run")
    want = (sr.lowres_size, sr.lowres_size, sr.image_shape[2])
    _usage(tuple(base.image_shape) == want, f"--cascade_from: the base run {path} samples "
           f"{tuple(base.image_shape)}, the super-resolution model takes low-res inputs {want}")
    bsampler, bsteps = _choose_sampler(base_c, base, bfamily, base_state, _BASE_SAMPLER.value,
                                       _BASE_STEPS.value, prefix="base_")
    return base, base_state.ema_params, (bsampler, bsteps, base_c.sampler.get("spacing", "trailing"))


def _load_lowres(spec: str, sr, c):
    """--init-image as the SR model's low-res input [h, h, C]: an image of that size as it is,
    any other box-downsampled from full size (a file is first resized to full size)."""
    from gen_jax.data.lowres import downsample

    h, full = sr.lowres_size, tuple(sr.image_shape)
    low = (h, h, full[2])
    split, _, index = spec.partition(":")
    if not (split in ("test", "train") and index.isdigit()) and os.path.exists(spec):
        from PIL import Image

        with Image.open(spec) as img:
            x = load_image(spec, low if img.size == (h, h) else full)
    else:
        x = load_image(spec, full, c.data.name, c.data.dir or None)
    x = np.asarray(x, np.float32)
    if x.shape == low:
        return x
    _usage(x.shape == full, f"--init-image {spec}: expected an image of {full} or {low}, got {x.shape}")
    return np.asarray(downsample(x[None], h))[0]


def _translate(c, objective, params, family, out, grid):
    """CycleGAN runs: translate --init-image, or the first --num test images of the source domain
    (--direction), in batches of --batch_size."""
    from gen_jax.data import load_dataset

    _reject(family, "mask", "interpolate", "classifier_workdir", "control-image", "strength",
            "jump_length", "jump_n_sample", "class", "guidance")
    direction = _DIRECTION.value or "a2b"
    ch = objective.image_shape[-1]
    source = slice(0, ch) if direction == "a2b" else slice(ch, 2 * ch)
    if _INIT.value:  # a dataset image holds both domains' channels; a file is one image
        x = np.asarray(load_image(_INIT.value, objective.image_shape, c.data.name, c.data.dir or None))
        inputs = (x[..., source] if x.shape[-1] == 2 * ch else x)[None]
    else:
        test = load_dataset(c.data.name, c.data.dir or None, "test").images
        _usage(_NUM.value <= len(test), f"--num: the test split of {c.data.name!r} has {len(test)} "
                                        f"images to translate, got {_NUM.value}")
        inputs = np.asarray(test[:_NUM.value])[..., source]
    run = jax.jit(lambda p, x: objective.sample(p, None, images=x, direction=direction))
    bs = _BATCH.value
    images = np.concatenate([to_uint8(jax.device_get(run(params, inputs[i:i + bs])))
                             for i in range(0, len(inputs), bs)])
    if jax.process_index() != 0:
        return
    inputs = to_uint8(inputs)
    arrays = {"images": images, "inputs": inputs, "direction": np.asarray(direction)}
    pairs = np.stack([inputs[:50], images[:50]], axis=1).reshape(-1, *images.shape[1:])
    _write(out, grid, arrays, pairs, 2 * min(len(images), 5))  # each input beside its translation


def _interpolate(objective, params, labels, workdir, out):
    """GANs: a slerp grid of --num rows, --interpolate columns (row r keeps label r)."""
    from gen_jax.gan.interpolate import slerp_grid

    _usage(hasattr(objective, "generate") and hasattr(objective, "z_dim"),
           "--interpolate needs a GAN run (a generator with a latent z)")
    num, cols = _NUM.value, _INTERP.value
    z = slerp_grid(jax.random.PRNGKey(_SEED.value), num, cols, objective.z_dim)
    labels = None if labels is None else np.repeat(labels, cols)
    images = to_uint8(jax.device_get(jax.jit(objective.generate)(params, z, labels)))
    if jax.process_index() == 0:
        arrays = {"images": images, **({} if labels is None else {"labels": labels})}
        _write(out, os.path.splitext(out)[0] + ".png", arrays, images, cols)


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["workdir"])
    from experiments import cli

    cli.run(main)
