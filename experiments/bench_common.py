"""What every experiments/bench_*.py writes and reads, written once: provenance (command line,
devices, date), results JSON + Markdown, Markdown tables from rows, PNG line plots, and the real
reference statistics a benchmark scores samples against.

No absl flags here: tests and notebooks import it beside any bench."""

from __future__ import annotations

import datetime
import json
import os
import shlex
import sys

import numpy as np


# --- provenance -----------------------------------------------------------------------------------
def hardware(load: bool = False) -> str:
    """'1× cpu (cpu, 2 CPU cores)', '8× NVIDIA H200 (gpu)': the devices this process sees (CPU
    cores on the CPU backend); load: the host's 1-minute load average too (timings on shared
    cores depend on it)."""
    import jax

    devices, backend = jax.devices(), jax.default_backend()
    cpus = f", {os.cpu_count()} CPU cores" if backend == "cpu" else ""
    out = f"{len(devices)}× {devices[0].device_kind} ({backend}{cpus})"
    if load and hasattr(os, "getloadavg"):
        out += f", load average {os.getloadavg()[0]:.1f}"
    return out


def command_line() -> str:
    """The command that started this process: 'python -m experiments.bench_x --flag=v ...'."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    prog = f"python -m {spec.name}" if spec is not None else f"python {sys.argv[0]}"
    return " ".join([prog, *map(shlex.quote, sys.argv[1:])])


def run_info(load: bool = False) -> dict:
    """{"command", "hardware", "date"} of this run, for a results JSON's meta."""
    return {"command": command_line(), "hardware": hardware(load),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


# --- writing --------------------------------------------------------------------------------------
def write_results(out_dir: str, stem: str, results, markdown: str | None = None, *,
                  echo: bool = False) -> str:
    """out_dir/stem.json (results, indented) and, given markdown, out_dir/stem.md; echo prints
    the Markdown. Returns the JSON's path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, stem + ".json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    if markdown is not None:
        with open(os.path.join(out_dir, stem + ".md"), "w") as f:
            f.write(markdown)
        if echo:
            print(markdown)
    return path


def markdown_table(rows, columns, missing: str = "–") -> str:
    """A Markdown table, one line per row (a dict). columns: (header, key[, fmt]) where key is a
    field of the row or a function of it, and fmt a str.format pattern ('{:.3f}', default '{}')
    or a function of the value; an absent field or None prints `missing`."""
    lines = ["| " + " | ".join(c[0] for c in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for header, key, *fmt in columns:
            v = key(r) if callable(key) else r.get(key)
            f = fmt[0] if fmt else "{}"
            cells.append(missing if v is None else f(v) if callable(f) else f.format(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- plots ----------------------------------------------------------------------------------------
def subplots(ncols: int = 1, figsize=None, **kwargs):
    """(figure, [axes]) of one row of ncols panels, on matplotlib's file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=figsize or (6 * ncols, 4), squeeze=False, **kwargs)
    return fig, list(axes[0])


def save_figure(fig, path: str, dpi: int = 100, legend: bool = True) -> str:
    """A light grid on every panel, a legend on every panel with labelled artists (legend=False:
    none added), tight layout, PNG at path; closes the figure. Returns path."""
    import matplotlib.pyplot as plt

    for ax in fig.axes:
        ax.grid(True, which="both", alpha=0.3)
        if legend and ax.get_legend() is None and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def line_plot(path: str, series: dict, *, xlabel: str, ylabel: str, title: str | None = None,
              xscale: str = "linear", yscale: str = "linear", style: str = "o-", dpi: int = 100,
              figsize=(6, 4)) -> str:
    """One panel: a line per entry of series {label: (x, y)}. Returns path."""
    fig, (ax,) = subplots(1, figsize)
    for label, (x, y) in series.items():
        ax.plot(x, y, style, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, xscale=xscale, yscale=yscale, title=title)
    return save_figure(fig, path, dpi)


# --- real reference -------------------------------------------------------------------------------
def real_images(dataset: str, data_dir, split: str, num: int | None = 0, seed: int | None = 0):
    """`num` images [num, H, W, C] in [-1, 1] of a split (0 or None: all): a random subset in
    random order (seed; the CIFAR-10 copy is sorted by class), or the first num (seed None)."""
    from gen_jax.data import load_dataset

    images = load_dataset(dataset, data_dir, split).images
    if seed is None:
        return images[: num or None]
    return images[np.random.default_rng(seed).permutation(len(images))[: num or None]]


def training_reference(net, dataset: str, data_dir, num: int, num_real: int | None = 0,
                       seed: int | None = 0):
    """(gen_jax.train.evaluation.RealReference of num_real training images (real_images) with num
    feature rows, the number of those images)."""
    from gen_jax.train.evaluation import real_reference

    train = real_images(dataset, data_dir, "train", num_real, seed)
    return real_reference(net, train, num), len(train)


def fid_to(net, images, ref) -> float:
    """FID of images (uint8 or [-1, 1]) against a RealReference's statistics, e.g. the
    real-vs-real floor of test images."""
    from gen_jax.metrics.feature_nets import feature_stats
    from gen_jax.metrics.frechet import frechet_distance

    mu, sigma, _ = feature_stats(net, images)
    return float(frechet_distance(mu, sigma, ref.mu, ref.sigma))


def fid_between(net, a, b) -> float:
    """FID between two image sets in net's feature space."""
    from gen_jax.metrics.feature_nets import feature_stats
    from gen_jax.train.evaluation import RealReference

    mu, sigma, feats = feature_stats(net, b)
    return fid_to(net, a, RealReference(mu, sigma, feats))


def scores(net, images_uint8, ref) -> dict:
    """gen_jax.train.evaluation.score as floats, without the per-class shares."""
    from gen_jax.train.evaluation import score

    return {k: float(v) for k, v in score(net, images_uint8, ref).items() if "/" not in k}


# --- several feature networks on the same samples -------------------------------------------------
# FIDs from different feature networks are not comparable (docs/metrics.md), so a bench that
# re-scores old figures reports every network on the same samples: the first network keeps the
# metrics' usual keys (fid, precision, ...), each other one adds fid_NAME.
FEATURE_NETS_HELP = ("Feature networks by gen_jax.metrics.feature_nets.load_feature_net name, e.g. "
                     "mnist,mnist_v1. Of those trained on a run's dataset, the first gives the usual "
                     "metrics (fid, precision, ...) and every other one an fid_NAME key and an FID "
                     "column, on the same samples (names for other datasets are skipped; none "
                     "left: the dataset's default network).")


def feature_nets(dataset: str, names=()) -> dict:
    """{name: FeatureNet} of the names whose network was trained on dataset, in order; none of
    them: {dataset: load_feature_net(dataset)}. A name without weights raises, naming it."""
    from gen_jax.metrics.feature_nets import load_feature_net

    nets = {name: load_feature_net(name) for name in dict.fromkeys(names)}
    nets = {name: net for name, net in nets.items() if (net.dataset or name) == dataset}
    return nets or {dataset: load_feature_net(dataset)}


def fid_key(name: str) -> str:
    """The results key of an extra network's FID: 'fid_mnist_v1'."""
    return f"fid_{name}"


def extra_fid_keys(nets) -> list[str]:
    """fid_NAME of every network after the first (the keys extra_fids writes)."""
    return [fid_key(name) for name in list(nets)[1:]]


def references(nets: dict, dataset: str, data_dir, num: int, num_real: int | None = 0,
               seed: int | None = 0):
    """({name: RealReference} of the same num_real training images (real_images) for every
    network, each with num feature rows; the number of those images): training_reference for
    several networks."""
    from gen_jax.train.evaluation import real_reference

    train = real_images(dataset, data_dir, "train", num_real, seed)
    return {name: real_reference(net, train, num) for name, net in nets.items()}, len(train)


def extra_fids(nets: dict, images, refs: dict, prefix: str = "") -> dict:
    """{prefix + 'fid_NAME': FID of images against refs[NAME]} for every network after the
    first (the first one's FID is the caller's usual 'fid')."""
    return {prefix + fid_key(name): fid_to(net, images, refs[name])
            for name, net in list(nets.items())[1:]}


def fid_columns(nets, key: str = "fid", fmt="{:.2f}", header: str = "FID") -> list:
    """Markdown columns (markdown_table) of the FID per network: [(header, key, fmt)] for one
    network, else '{header} (NAME)' for each, reading key for the first and key_NAME after it
    (key 'floor_fid' -> 'floor_fid_mnist_v1')."""
    names = list(nets)
    if len(names) == 1:
        return [(header, key, fmt)]
    suffix = lambda name: key.replace("fid", fid_key(name), 1)  # noqa: E731
    return [(f"{header} ({names[0]})", key, fmt)] + [(f"{header} ({n})", suffix(n), fmt) for n in names[1:]]


def net_names(nets: dict) -> str:
    """'mnist_classifier (acc 99.2%), mnist_v1_classifier (acc 99.3%)': the networks for a note."""
    return ", ".join(net.name for net in nets.values())
