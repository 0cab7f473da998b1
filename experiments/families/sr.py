"""config -> SRDiffusionObjective (objective.name "sr"): super-resolution diffusion with
noise-conditioning augmentation (gen_jax/sr/objective.py). Registered at the end of build.py."""

from __future__ import annotations

import ml_collections

# the fields SR adds to the sections of generalized diffusion (build._validate_general_diffusion)
EXTRA_FIELDS = {"objective": ("lowres_size", "upsample", "aug_max"), "sampler": ("aug_level",)}


def validate(c: ml_collections.ConfigDict) -> None:
    from experiments import build
    from gen_jax.data.lowres import UPSAMPLE_METHODS

    build._validate_general_diffusion(c, EXTRA_FIELDS)
    o, req = c.objective, build.check
    req(c.model.name == "unet", "model.name", "'unet' (the SR backbone)", c.model.name)
    req(isinstance(o.lowres_size, int) and o.lowres_size >= 1, "objective.lowres_size",
        "a positive int dividing the image size", o.lowres_size)
    req(o.upsample in UPSAMPLE_METHODS, "objective.upsample", f"one of {UPSAMPLE_METHODS}", o.upsample)
    req(0.0 <= o.aug_max <= 1.0, "objective.aug_max", "a value in [0, 1]", o.aug_max)
    req(0.0 <= c.sampler.aug_level <= 1.0, "sampler.aug_level", "a value in [0, 1]", c.sampler.aug_level)


def build(c: ml_collections.ConfigDict, image_shape, num_classes):
    """The U-Net of config.model seeing [x_t, upsampled low-res, level] (nn.video.SRConditioned);
    preview inputs: the low-res views of the first test images."""
    import jax.numpy as jnp
    import numpy as np

    from experiments import build as b
    from gen_jax.data import load_dataset
    from gen_jax.data.lowres import downsample
    from gen_jax.diffusion.process import make_process
    from gen_jax.nn.video import SRConditioned
    from gen_jax.sr.objective import SRDiffusionObjective

    m, o = c.model, c.objective
    h, w, ch = image_shape
    b.check(h % o.lowres_size == 0 and w % o.lowres_size == 0, "objective.lowres_size",
               f"a divisor of the image size {h}x{w}", o.lowres_size)
    conditional = m.class_conditional
    backbone = b.network(c, image_shape, b.model_classes(c, num_classes)).clone(out_channels=ch)
    tx, lr = b.optimizer(c)
    n = max(c.train.num_preview, c.train.num_final_samples, 1)
    test = load_dataset(c.data.name, c.data.dir or None, "test").images[:n]
    preview = np.asarray(downsample(jnp.asarray(test), o.lowres_size))
    return SRDiffusionObjective(
        model=SRConditioned(backbone), process=make_process(o.process, **b._process_args(o)),
        image_shape=tuple(image_shape), lowres_size=o.lowres_size, tx=tx, lr_schedule=lr,
        prediction=o.prediction, upsample_method=o.upsample, aug_max=o.aug_max,
        time_sampling=o.time_sampling, time_scale=o.time_scale,
        num_classes=num_classes if conditional else None,
        cond_drop_prob=o.cond_drop_prob if conditional else 0.0, ema_decay=c.optim.ema_decay,
        preview_sampler=c.sampler.name, preview_steps=c.sampler.num_steps, preview_lowres=preview)
