"""config -> VideoDiffusionObjective (objective.name "video"): a factorised space-time U-Net
with masked frame conditioning (gen_jax/video/objective.py). Registered at the end of build.py."""

from __future__ import annotations

import ml_collections

from experiments.config_types import VideoConfig, VideoModelConfig, field_names

# the fields video adds to the sections of generalized diffusion (build._validate_general_diffusion)
EXTRA_FIELDS = {"objective": field_names(VideoConfig), "model": field_names(VideoModelConfig)}


def validate(c: ml_collections.ConfigDict) -> None:
    from experiments import build
    from experiments.config_types import DiTConfig, GeneralDiffusionConfig, UNetConfig, own_fields

    build._validate_general_diffusion(c, EXTRA_FIELDS)
    build.check(c.model.name == "unet", "model.name", "'unet' (the video network is the U-Net's layers)",
                c.model.name)
    own_fields(VideoModelConfig, c.model, (UNetConfig, DiTConfig))
    own_fields(VideoConfig, c.objective, (GeneralDiffusionConfig,))


def build(c: ml_collections.ConfigDict, image_shape, num_classes):
    """VideoUNet with config.model's U-Net fields for clips of image_shape (T, H, W, C); with
    objective.image_workdir, its spatial layers start from that image run's EMA weights."""
    from experiments import build as b
    from gen_jax.diffusion.process import make_process
    from gen_jax.nn.video import VideoUNet
    from gen_jax.video.objective import VideoDiffusionObjective

    m, o = c.model, c.objective
    b.check(len(image_shape) == 4, "data.name", "a video dataset (clips [N, T, H, W, C])",
               c.data.name)
    conditional = m.class_conditional
    b.model_classes(c, num_classes)
    model = VideoUNet(channels=m.channels, channel_mult=tuple(m.channel_mult),
                      num_res_blocks=m.num_res_blocks,
                      attention_resolutions=tuple(m.attention_resolutions), num_heads=m.num_heads,
                      dropout=m.dropout, num_classes=num_classes if conditional else None,
                      cond_channels=image_shape[-1] + 1, temporal_heads=m.temporal_heads,
                      dtype=b._compute_dtype(m))
    image_params = None
    if o.image_workdir:
        from experiments.sampling import load_objective_and_params

        _, image_obj, image_state, _ = load_objective_and_params(o.image_workdir, None)
        b.check(tuple(image_obj.image_shape) == tuple(image_shape[1:]), "objective.image_workdir",
                   f"an image run on frames of shape {tuple(image_shape[1:])}",
                   tuple(image_obj.image_shape))
        image_params = image_state.ema_params
    tx, lr = b.optimizer(c)
    return VideoDiffusionObjective(
        model=model, process=make_process(o.process, **b._process_args(o)),
        image_shape=tuple(image_shape), tx=tx, lr_schedule=lr, prediction=o.prediction,
        task_probs=tuple(o.task_probs), time_sampling=o.time_sampling, time_scale=o.time_scale,
        num_classes=num_classes if conditional else None,
        cond_drop_prob=o.cond_drop_prob if conditional else 0.0, ema_decay=c.optim.ema_decay,
        preview_sampler=c.sampler.name, preview_steps=c.sampler.num_steps, image_params=image_params)
