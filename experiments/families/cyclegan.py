"""config -> CycleGANObjective (objective.name 'cyclegan') on an unpaired two-domain dataset
whose images stack domain A's channels and domain B's (e.g. data.name 'mnist_mnistm')."""

from __future__ import annotations

import ml_collections


def validate(c: ml_collections.ConfigDict) -> None:
    from experiments import config_types as T

    T.parse_model(T.CycleGANModelConfig, c.model)
    T.parse(T.CycleGANObjectiveConfig, c.objective, "objective")
    T.parse(T.SamplerConfig, c.sampler, "sampler")  # base_config's fields (unused: one network call)
    T.check(c.optim.d_learning_rate > 0, "optim.d_learning_rate", "a value > 0", c.optim.d_learning_rate)


def build(c: ml_collections.ConfigDict, image_shape, num_classes):
    from experiments.config_types import check
    from gen_jax.gan.cyclegan import CycleGANObjective
    from gen_jax.nn.cyclegan import PatchDiscriminator, ResnetGenerator
    from gen_jax.train.state import make_optimizer

    del num_classes  # labels are not used (they measure label preservation afterwards)
    h, w, c2 = image_shape
    check(c2 % 2 == 0, "data.name", "an unpaired dataset with domain A's and B's channels stacked "
          "(an even channel count, e.g. 'mnist_mnistm')", f"{c.data.name} with images {tuple(image_shape)}")
    check(h % 4 == 0 and w % 4 == 0, "data.name", "images whose size is divisible by 4 (two "
          "downsamplings in the generator)", f"{c.data.name} with images {tuple(image_shape)}")
    m, o, opt = c.model, c.objective, c.optim
    domain = (h, w, c2 // 2)

    def tx(lr):
        return make_optimizer(lr, opt.warmup_steps, opt.grad_clip or None, opt.weight_decay, b1=opt.b1,
                              decay_steps=c.train.steps if opt.cosine_decay else None)

    (tx_g, lr_g), (tx_d, lr_d) = tx(opt.learning_rate), tx(opt.d_learning_rate)
    return CycleGANObjective(generator=ResnetGenerator(domain[-1], m.channels, m.num_blocks),
                             discriminator=PatchDiscriminator(m.d_channels, m.d_layers),
                             image_shape=domain, tx_g=tx_g, tx_d=tx_d, lr_schedule_g=lr_g,
                             lr_schedule_d=lr_d, cycle_weight=o.cycle_weight,
                             identity_weight=o.identity_weight, pool_size=o.pool_size,
                             ema_decay=opt.ema_decay)


def sample_options(c: ml_collections.ConfigDict) -> dict:
    """CycleGAN's sample needs images=[N, H, W, C] (and direction); the config supplies none."""
    del c
    return {}
