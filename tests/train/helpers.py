"""A tiny objective on scikit-learn digits, shared by the training tests."""

import numpy as np
from sklearn.datasets import load_digits

from gen_jax.diffusion.objective import DiffusionObjective
from gen_jax.diffusion.schedules import make_schedule
from gen_jax.nn.unet import UNet
from gen_jax.train.state import make_optimizer


def digits(n=256):
    d = load_digits()
    return (d.images[:n, :, :, None] / 8.0 - 1).astype(np.float32), d.target[:n].astype(np.int32)


def tiny_objective(lr=2e-3, conditional=True):
    tx, sched = make_optimizer(lr, warmup_steps=2)
    model = UNet(channels=8, channel_mult=(1,), num_res_blocks=1, attention_resolutions=(),
                 num_heads=1, num_classes=10 if conditional else None)
    return DiffusionObjective(model=model, schedule=make_schedule("linear", 50), image_shape=(8, 8, 1),
                              tx=tx, lr_schedule=sched, num_classes=10 if conditional else None,
                              cond_drop_prob=0.2 if conditional else 0.0, ema_decay=0.9)
