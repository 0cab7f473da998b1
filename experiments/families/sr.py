"""config -> SRDiffusionObjective (objective.name "sr"): super-resolution diffusion with
noise-conditioning augmentation (gen_jax/sr/objective.py). Registered at the end of build.py."""

from __future__ import annotations

import dataclasses

import ml_collections

from experiments.config_types import SRConfig, SRSamplerConfig, field_names

# the fields SR adds to the sections of generalized diffusion (build._validate_general_diffusion)
EXTRA_FIELDS = {"objective": field_names(SRConfig), "sampler": field_names(SRSamplerConfig)}


def validate(c: ml_collections.ConfigDict) -> None:
    from experiments import build
    from experiments.config_types import GeneralDiffusionConfig, SamplerConfig, own_fields

    build._validate_general_diffusion(c, EXTRA_FIELDS)
    build.check(c.model.name == "unet", "model.name", "'unet' (the SR backbone)", c.model.name)
    own_fields(SRConfig, c.objective, (GeneralDiffusionConfig,))
    own_fields(SRSamplerConfig, c.sampler, (SamplerConfig,))


def build(c: ml_collections.ConfigDict, image_shape, num_classes):
    """The U-Net of config.model seeing [x_t, upsampled low-res, level] (nn.video.SRConditioned),
    without preview inputs (a training run adds them: with_previews)."""
    from experiments import build as b
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
    return SRDiffusionObjective(
        model=SRConditioned(backbone), process=make_process(o.process, **b._process_args(o)),
        image_shape=tuple(image_shape), lowres_size=o.lowres_size, tx=tx, lr_schedule=lr,
        prediction=o.prediction, upsample_method=o.upsample, aug_max=o.aug_max,
        time_sampling=o.time_sampling, time_scale=o.time_scale,
        num_classes=num_classes if conditional else None,
        cond_drop_prob=o.cond_drop_prob if conditional else 0.0, ema_decay=c.optim.ema_decay,
        preview_sampler=c.sampler.name, preview_steps=c.sampler.num_steps)


def with_previews(c: ml_collections.ConfigDict, objective):
    """The objective with its preview inputs (preview grids and the final samples.png): the
    low-res views of the first max(train.num_preview, train.num_final_samples) test images."""
    import jax.numpy as jnp
    import numpy as np

    from gen_jax.data import load_dataset
    from gen_jax.data.lowres import downsample

    n = max(c.train.num_preview, c.train.num_final_samples, 1)
    test = load_dataset(c.data.name, c.data.dir or None, "test").images[:n]
    return dataclasses.replace(objective, preview_lowres=np.asarray(
        downsample(jnp.asarray(test), objective.lowres_size)))
