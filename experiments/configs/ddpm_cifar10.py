"""U-Net DDPM on CIFAR-10 (32x32 RGB), class-conditional with label dropout for CFG: the U-Net of
Ho et al. 2020 for CIFAR-10 (channels 128, multipliers 1,2,2,2, two res blocks per level, attention
at 16x16, dropout 0.1). 38.3 M parameters here (the paper: 35.7 M; AdaGN scale-shift layers and
the class embedding add the rest). Sized for an accelerator.

python -m experiments.main --config=experiments/configs/ddpm_cifar10.py --workdir=runs/cifar10 \
    --config.data.dir=../shared/data
"""

from experiments.configs import common


def get_config(variant: str = ""):
    c = common.guided(common.base_config())
    c.data.name = "cifar10"
    common.update(c, model=dict(channels=128, channel_mult=(1, 2, 2, 2), num_res_blocks=2,
                                attention_resolutions=(16,), dropout=0.1),
                  optim=dict(learning_rate=2e-4, warmup_steps=5000),
                  train=dict(steps=800_000, batch_size=128, ckpt_every=5000, sample_every=10_000))
    return common.with_variant(c, variant, "ddpm_cifar10.py",
                               smoke=common.preset(common.smoke, model=dict(channel_mult=(1, 2))))
