"""config -> VQVAEObjective (objective.name 'vqvae'): the tokenizer of the token models."""

from __future__ import annotations

import ml_collections


def validate(c: ml_collections.ConfigDict) -> None:
    from experiments import config_types as T

    T.parse_model(T.VQVAEModelConfig, c.model)
    T.parse(T.VQVAEObjectiveConfig, c.objective, "objective")
    T.parse(T.SamplerConfig, c.sampler, "sampler")  # base_config's fields (unused: one network call)


def module(c: ml_collections.ConfigDict, image_shape):
    from experiments.config_types import check
    from gen_jax.nn.vq import VQVAE

    m = c.model
    h, w = image_shape[:2]
    f = 2 ** len(m.channel_mult)
    check(h % f == 0 and w % f == 0, "model.channel_mult",
          f"at most as many levels as halvings of the image size {h}x{w} (2^levels must divide it)",
          m.channel_mult)
    return VQVAE(tuple(image_shape), m.channels, tuple(m.channel_mult), m.num_res_blocks, m.code_dim)


def build(c: ml_collections.ConfigDict, image_shape, num_classes):
    from experiments.build import optimizer
    from gen_jax.ar.tokenizer import VQVAEObjective

    del num_classes
    tx, lr = optimizer(c)
    o = c.objective
    return VQVAEObjective(model=module(c, image_shape), image_shape=tuple(image_shape), tx=tx,
                          lr_schedule=lr, num_codes=o.num_codes, beta=o.beta,
                          codebook_decay=o.codebook_decay, dead_threshold=o.dead_threshold,
                          ema_decay=c.optim.ema_decay)


def sample_options(c: ml_collections.ConfigDict) -> dict:
    """Keyword options of objective.sample for this family from config.sampler: none."""
    del c
    return {}
