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
    c = rf_mnist.get_config()
    c.model.channels = 8
    c.model.channel_mult = (1, 2)
    c.model.attention_resolutions = ()
    c.model.num_heads = 1
    c.model.class_conditional = False
    c.objective.cond_drop_prob = 0.0
    c.optim.warmup_steps = 100
    c.train.steps = 1000
    c.train.batch_size = 16
    c.train.log_every = 25
    c.train.ckpt_every = 100
    c.train.sample_every = 0
    return c


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
    c = base()
    if variant == "base":
        return c
    if variant == "base_smoke":
        c = common.smoke(c)
        c.train.sample_every = 0        # rf configs' smoke runs test the preview; this one needn't
        return c
    c = controlnet(c)
    c.optim.learning_rate = 1e-3
    c.optim.warmup_steps = 50
    c.train.steps = 600
    if variant == "smoke":
        common.smoke(c)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of controlnet_mnist.py; "
                         f"expected '', 'smoke', 'base' or 'base_smoke'")
    return c
