"""ControlNet (Zhang et al. 2023) on MNIST: a trainable copy of a frozen pretrained U-Net's encoder,
fed the Sobel edge map of the training image, trained to make the base model follow the edges.

Two runs: the base model (variant "base": an unconditional rectified-flow U-Net), then the
ControlNet on top of it (objective.base_workdir names the base run's workdir):

python -m experiments.main --config=experiments/configs/controlnet_mnist.py:base \
    --workdir=runs/control_base --config.data.dir=../shared/data
python -m experiments.main --config=experiments/configs/controlnet_mnist.py \
    --workdir=runs/control --config.data.dir=../shared/data \
    --config.objective.base_workdir=runs/control_base
python -m experiments.sample --workdir=runs/control --control-image=test:0 --num=16
"""

import ml_collections

from experiments.configs import common, rf_mnist


def base() -> ml_collections.ConfigDict:
    """The base model: rf_mnist.py's rectified flow, unconditional, with a much smaller U-Net
    (8 channels, two levels, attention only in the middle block) and batch: sized for a few CPU
    minutes on 2 shared cores, not for sample quality."""
    return common.update(rf_mnist.get_config(),
                         model=dict(channels=8, channel_mult=(1, 2), attention_resolutions=(), num_heads=1,
                                    class_conditional=False),
                         objective=dict(cond_drop_prob=0.0), optim=dict(warmup_steps=100),
                         train=dict(steps=1000, batch_size=16, log_every=25, ckpt_every=100, sample_every=0))


def controlnet(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Turn a config into a ControlNet one. The network copies the base run's model section;
    model.* here only sizes the ControlNet's additions. The sampler section is the base's
    family's (ddim/ddpm/... for a DDPM base, euler/heun for a rectified-flow base)."""
    c.objective.name = "controlnet"
    c.objective.base_workdir = ""       # workdir of the pretrained base run (ddpm or rectified_flow, U-Net)
    c.objective.base_step = 0           # checkpoint step of the base run (0: latest)
    c.objective.condition = "edges"     # condition map computed from each image: edges | mask
    c.objective.edge_threshold = 0.5    # edges: Sobel gradient magnitude (of x in [-1, 1]) above this
    c.model.hint_channels = 16          # width of the hint encoder (condition map -> features)
    return c


def get_config(variant: str = ""):
    c = common.update(controlnet(base()), optim=dict(learning_rate=1e-3, warmup_steps=50), train=dict(steps=600))
    # base_smoke: rf configs' smoke runs test the preview; this one needn't
    base_smoke = common.preset(common.smoke, train=dict(sample_every=0))
    return common.with_variant(c, variant, "controlnet_mnist.py", base=lambda _: base(),
                               base_smoke=lambda _: base_smoke(base()))
