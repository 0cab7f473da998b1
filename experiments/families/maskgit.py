"""config -> MaskGITObjective (objective.name 'maskgit'): a bidirectional token transformer on a
trained VQ-VAE's tokens, decoded in sampler.num_steps parallel steps."""

from __future__ import annotations

import ml_collections

from experiments.families import ar


validate = ar.validate  # the sampler's maskgit fields are config_types.TokenSamplerConfig's


def build(c: ml_collections.ConfigDict, image_shape, num_classes):
    from gen_jax.ar.objective import MaskGITObjective

    return MaskGITObjective(**ar.common_args(c, image_shape, num_classes, causal=False),
                            num_steps=c.sampler.num_steps, choice_temperature=c.sampler.choice_temperature)


def sample_options(c: ml_collections.ConfigDict) -> dict:
    return dict(ar.sample_options(c), num_steps=c.sampler.num_steps,
                choice_temperature=c.sampler.choice_temperature)
