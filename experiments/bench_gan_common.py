"""What the modes of experiments/bench_gan.py share: the configs they train, with the bench's
overrides, where a dataset's runs live, and what a run logged."""

from __future__ import annotations

import os

from experiments.configs import (dcgan_mnist, ddpm_mnist, gan_collapse_mnist, stylegan2_mnist,
                                 wgan_gp_mnist)
from gen_jax.train.logging import read_metrics

CONFIGS = {"dcgan": dcgan_mnist, "wgan_gp": wgan_gp_mnist, "ddpm": ddpm_mnist,
           "collapse": gan_collapse_mnist, "stylegan2": stylegan2_mnist}
MNIST_SHAPE, MNIST_CLASSES = (28, 28, 1), 10  # Fashion-MNIST has the same
DATASETS = ("mnist", "fashion_mnist")


def load_config(name: str, variant: str = "", data_dir: str | None = None, channels: int = 0,
                dataset: str = "mnist", **train):
    """CONFIGS[name].get_config(variant) with data.name, data.dir, model.channels (and
    model.d_channels where set; 0: kept) and the given train.* fields (None: kept)."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    c = CONFIGS[name].get_config(variant)
    c.data.name = dataset
    if data_dir:
        c.data.dir = data_dir
    if channels:
        c.model.channels = channels
        if c.model.get("d_channels"):
            c.model.d_channels = channels
    for k, v in train.items():
        if v is not None:
            c.train[k] = v
    return c


def root(out_dir: str, dataset: str) -> str:
    """Where a dataset's workdirs and results live: out_dir for MNIST, out_dir/DATASET else."""
    return out_dir if dataset == "mnist" else os.path.join(out_dir, dataset)


def feature_net_name(dataset: str) -> str:
    return f"{dataset}_classifier (gen_jax/metrics/weights)"


def config_name(name: str) -> str:
    return CONFIGS[name].__name__.rsplit(".", 1)[1]


def describe(c) -> dict:
    """The settings of a run that its table rows show."""
    o, opt = c.objective, c.optim
    out = {"objective": o.name, "lr": opt.learning_rate, "batch_size": c.train.batch_size,
           "channels": c.model.channels}
    if o.name == "gan":
        out.update(loss=o.loss, n_critic=o.n_critic, d_lr=opt.d_learning_rate)
    return out


def log_rows(workdir: str, keys) -> list[dict]:
    """The logged rows of workdir that hold all of keys, one per step (the last if repeated)."""
    rows = {m["step"]: {"step": m["step"], **{k: m[k] for k in keys}}
            for m in read_metrics(os.path.join(workdir, "logs")) if all(k in m for k in keys)}
    return [rows[s] for s in sorted(rows)]


def eval_curve(workdir: str) -> list[dict]:
    """The evaluation rows of workdir's logs, one per step (the last if a resumed run repeated
    it): {"step", "class_coverage", "recall", ..., "class_share": [K]}."""
    rows = {}
    for m in read_metrics(os.path.join(workdir, "logs")):
        if "eval/class_coverage" in m:
            row = {k[len("eval/"):]: v for k, v in m.items()
                   if k.startswith("eval/") and not k.startswith("eval/class_share/")}
            shares = sorted((int(k.rsplit("/", 1)[1]), v) for k, v in m.items()
                            if k.startswith("eval/class_share/"))
            rows[m["step"]] = {"step": m["step"], **row, "class_share": [v for _, v in shares]}
    return [rows[s] for s in sorted(rows)]
