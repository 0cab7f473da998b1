"""The seeds' GAN claims, measured on MNIST: the objective trick, mode collapse, sampling speed,
stability, and the target table (also on Fashion-MNIST).

python -m experiments.bench_gan --mode=objective --data_dir=../shared/data --out_dir=runs/bench_gan

python -m experiments.bench_gan --mode=collapse --data_dir=../shared/data --out_dir=runs/bench_gan
python -m experiments.bench_gan --mode=speed --out_dir=runs/bench_gan
python -m experiments.bench_gan --mode=stability --data_dir=../shared/data --seeds=0,1,2 \
    --steps=5000 --num=10000 --out_dir=runs/bench_gan
python -m experiments.bench_gan --mode=targets --dataset=fashion_mnist --data_dir=../shared/data \
    --seeds=0 --num=10000 --out_dir=runs/bench_gan

objective: the seeds' "objective trick". Trains DCGAN (configs/dcgan_mnist.py) with the saturating
  minimax generator loss and with the non-saturating one (same seed, data and networks) for
  --steps, logging every --log_every steps; plots the analytic |∂L_G/∂f| of both against
  D(G(z)) = σ(f), and the measured G-gradient norm and D(G(z)) over those first steps; writes
  objective.{json,md,png}.
collapse: trains the healthy DCGAN (configs/dcgan_mnist.py) and the collapsing GAN
  (configs/gan_collapse_mnist.py) for --steps each through experiments.main, with the training
  loop's evaluation every --eval_every steps (class coverage, precision/recall and FID of
  --eval_samples samples in the MNIST feature-net space); writes collapse.{json,md,png}.
speed: images/s of the DCGAN generator against the MNIST DDPM U-Net (configs/ddpm_mnist.py) under
  the samplers of --diffusion (default 1000 ancestral DDPM steps and 10 DDIM steps): same device(s),
  same batch, compilation excluded, median of --repeats. The weights are freshly initialised:
  throughput does not depend on their values, so nothing is trained. Writes speed.{json,md}.
stability: trains DCGAN, WGAN-GP and the DDPM (their configs) for --steps with each of --seeds, and
  reports the final FID of --num samples (--ddpm_num for the DDPM: its sampling costs
  sampler.num_steps network calls per image) (mean, std, spread); writes stability.{json,md}.
targets: trains --models (default DCGAN, WGAN-GP, StyleGAN2-style) with each of --seeds and reports
  FID, precision, recall, density, PRDC coverage and class coverage of --num samples in the
  dataset's feature-net space; its runs are the stability runs (same workdirs): one reuses the
  other's finished cells. writes targets.{json,md}.
--dataset=fashion_mnist trains on Fashion-MNIST and scores with its classifier; its workdirs and
  results go under --out_dir/fashion_mnist.
--model_steps=wgan_gp:1000,ddpm:3000 overrides --steps per model.
Every run lives in a workdir under --out_dir and resumes: a finished run is not trained again.
--variant=smoke uses the configs' smoke variants (tiny networks, for tests).
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from experiments import build
from experiments import train as main_lib
from experiments import sampling as sample_lib
from experiments.configs import (dcgan_mnist, ddpm_mnist, gan_collapse_mnist, stylegan2_mnist,
                                 wgan_gp_mnist)
from gen_jax.train import sharding
from gen_jax.train.logging import read_metrics

CONFIGS = {"dcgan": dcgan_mnist, "wgan_gp": wgan_gp_mnist, "ddpm": ddpm_mnist,
           "collapse": gan_collapse_mnist, "stylegan2": stylegan2_mnist}
MNIST_SHAPE, MNIST_CLASSES = (28, 28, 1), 10  # Fashion-MNIST has the same
DATASETS = ("mnist", "fashion_mnist")

_MODE = flags.DEFINE_enum("mode", None, ["objective", "collapse", "speed", "stability", "targets"],
                          "What to measure.")
_DATASET = flags.DEFINE_enum("dataset", "mnist", list(DATASETS), "objective, collapse, stability, "
                             "targets: training data and feature network (its classifier).")
_OUT = flags.DEFINE_string("out_dir", "runs/bench_gan", "Directory for workdirs and results.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the configs').")
_VARIANT = flags.DEFINE_enum("variant", "", ["", "smoke"], "Config variant (smoke: tiny, for tests).")
_STEPS = flags.DEFINE_integer("steps", None, "Training steps per run (default: objective 100, "
                              "collapse 800, stability/targets the configs' own train.steps).")
_MODEL_STEPS = flags.DEFINE_list("model_steps", [], "stability, targets: MODEL:STEPS overrides of "
                                 "--steps, e.g. wgan_gp:1000,ddpm:3000.")
_LOG_EVERY = flags.DEFINE_integer("log_every", 2, "objective: steps between logged gradient norms.")
_MODELS = flags.DEFINE_list("models", None, "stability, targets: models (default: stability "
                            "dcgan,wgan_gp,ddpm; targets dcgan,wgan_gp,stylegan2).")
_EVAL_EVERY = flags.DEFINE_integer("eval_every", 100, "collapse: steps between evaluations.")
_EVAL_SAMPLES = flags.DEFINE_integer("eval_samples", 1000, "collapse: samples per evaluation.")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "stability: training seeds.")
_NUM = flags.DEFINE_integer("num", 10000, "stability, targets: samples for the final FID.")
_DDPM_NUM = flags.DEFINE_integer("ddpm_num", 0, "stability, targets: samples for the DDPM's final "
                                 "FID (0: --num).")
_NUM_REAL = flags.DEFINE_integer("num_real", 0, "stability: training images in the FID reference "
                                 "(0: all).")
_CHANNELS = flags.DEFINE_integer("channels", 0, "model.channels (and model.d_channels where a "
                                  "config sets it) of every trained run (0: the configs' own); a "
                                  "smaller width for a quick look.")
_BATCH = flags.DEFINE_integer("batch_size", 64, "speed: images per sampling call.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "speed: timed calls per row (median).")
_DIFFUSION = flags.DEFINE_list("diffusion", ["ddpm:1000", "ddim:10"], "speed: SAMPLER:STEPS rows "
                               "for the DDPM U-Net.")


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


def _root(out_dir: str, dataset: str) -> str:
    """Where a dataset's workdirs and results live: out_dir for MNIST, out_dir/DATASET else."""
    return out_dir if dataset == "mnist" else os.path.join(out_dir, dataset)


def _feature_net_name(dataset: str) -> str:
    return f"{dataset}_classifier (gen_jax/metrics/weights)"


def _config_name(name: str) -> str:
    return CONFIGS[name].__name__.rsplit(".", 1)[1]


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


def _write(out_dir: str, stem: str, results: dict, md: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, stem + ".json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out_dir, stem + ".md"), "w") as f:
        f.write(md)


def _hardware() -> str:
    cpus = f", {os.cpu_count()} CPU cores" if jax.default_backend() == "cpu" else ""
    return f"{jax.device_count()}× {jax.devices()[0].device_kind} ({jax.default_backend()}{cpus})"


def _describe(c) -> dict:
    o, opt = c.objective, c.optim
    out = {"objective": o.name, "lr": opt.learning_rate, "batch_size": c.train.batch_size,
           "channels": c.model.channels}
    if o.name == "gan":
        out.update(loss=o.loss, n_critic=o.n_critic, d_lr=opt.d_learning_rate)
    return out


# --- objective trick ------------------------------------------------------------------------------
OBJECTIVE_LOSSES = ("minimax", "nonsaturating")


def objective_curves(d_fake_prob) -> dict:
    """∂L_G/∂f of one sample for each of OBJECTIVE_LOSSES at D(G(z)) = σ(f) = d_fake_prob [P],
    by autodiff of gen_jax.gan.losses.g_loss (closed forms: minimax -σ(f), non-saturating
    -(1 - σ(f)): the minimax gradient vanishes where D rejects the fakes, Goodfellow et al. 2014
    sec. 3)."""
    from gen_jax.gan.losses import g_loss

    p = jnp.asarray(d_fake_prob, jnp.float32)
    logits = jnp.log(p) - jnp.log1p(-p)
    return {loss: np.asarray(jax.vmap(jax.grad(lambda f, loss=loss: g_loss(loss, f[None])))(logits))
            for loss in OBJECTIVE_LOSSES}


def _log_rows(workdir: str, keys) -> list[dict]:
    """The logged rows of workdir that hold all of keys, one per step (the last if repeated)."""
    rows = {m["step"]: {"step": m["step"], **{k: m[k] for k in keys}}
            for m in read_metrics(os.path.join(workdir, "logs")) if all(k in m for k in keys)}
    return [rows[s] for s in sorted(rows)]


def objective_trick(out_dir: str, data_dir=None, steps: int = 100, log_every: int = 2,
                    variant: str = "", progress: bool = True, channels: int = 0,
                    dataset: str = "mnist") -> dict:
    runs = {}
    out_dir = _root(out_dir, dataset)
    for loss in OBJECTIVE_LOSSES:
        c = load_config("dcgan", variant, data_dir, channels, dataset, steps=steps,
                        log_every=log_every, ckpt_every=steps, sample_every=0)
        c.objective.loss = loss
        wd = os.path.join(out_dir, "objective", loss)
        main_lib.run(c, wd, progress=progress)
        runs[loss] = {"config": "dcgan_mnist", **_describe(c), "workdir": wd, "steps": steps,
                      "curve": _log_rows(wd, ("g_grad_norm", "d_fake_prob", "g_loss", "d_loss"))}
    p = np.linspace(0.0005, 0.9995, 400)
    analytic = {"d_fake_prob": p.tolist(), **{k: v.tolist() for k, v in objective_curves(p).items()}}
    meta = {"log_every": log_every, "variant": variant, "dataset": dataset, "hardware": _hardware()}
    results = {"meta": meta, "analytic": analytic, "runs": runs}
    _write(out_dir, "objective", results, objective_markdown(results))
    objective_plot(results, os.path.join(out_dir, "objective.png"))
    return results


def objective_markdown(results, rows: int = 8) -> str:
    runs = results["runs"]
    steps = [p["step"] for p in next(iter(runs.values()))["curve"]]
    shown = sorted({steps[int(i)] for i in np.linspace(0, len(steps) - 1, min(rows, len(steps)))})
    head = ["step"] + [f"{name}: {col}" for name in runs for col in ("D(G(z))", "‖∇_θ L_G‖")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_step = {name: {p["step"]: p for p in r["curve"]} for name, r in runs.items()}
    for step in shown:
        cells = [str(step)]
        for name in runs:
            p = by_step[name].get(step)
            cells += [f"{p['d_fake_prob']:.3f}", f"{p['g_grad_norm']:.3g}"] if p else ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    r = next(iter(runs.values()))
    lines.append(f"\nDCGAN ({r['config']}, model.channels {r['channels']}, batch {r['batch_size']}, "
                 f"lr G = D = {r['lr']:g}) on {results['meta']['dataset']}, the same seed for both "
                 f"losses; D(G(z)) = mean σ(f(G(z))) and ‖∇_θ L_G‖ = global norm of G's gradient, "
                 f"logged every {results['meta']['log_every']} steps. Hardware: "
                 f"{results['meta']['hardware']}.\n")
    return "\n".join(lines) + "\n"


def objective_plot(results, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"minimax": "tab:red", "nonsaturating": "tab:blue"}
    label = {"minimax": "minimax  log(1 − D(G(z)))", "nonsaturating": "non-saturating  −log D(G(z))"}
    a = results["analytic"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for name, r in results["runs"].items():
        axes[0].plot(a["d_fake_prob"], np.abs(a[name]), color=colors[name], label=label[name])
        pts = np.array([p["d_fake_prob"] for p in r["curve"]])
        axes[0].scatter(pts, np.abs(np.interp(pts, a["d_fake_prob"], a[name])), s=8,
                        color=colors[name], alpha=0.5)
        steps = [p["step"] for p in r["curve"]]
        axes[1].plot(steps, [p["g_grad_norm"] for p in r["curve"]], ".-", color=colors[name], label=name)
        axes[2].plot(steps, [p["d_fake_prob"] for p in r["curve"]], ".-", color=colors[name], label=name)
    axes[0].set(xlabel="D(G(z))", ylabel="|∂L_G / ∂logit|", yscale="log", ylim=(3e-4, 1.5),
                title="generator loss gradient (analytic; dots: measured D(G(z)))")
    axes[1].set(xlabel="step", ylabel="‖∇_θ L_G‖", yscale="log", title="measured G-gradient norm")
    axes[2].set(xlabel="step", ylabel="D(G(z))", ylim=(-0.02, 1.02), title="measured D(G(z))")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# --- collapse -------------------------------------------------------------------------------------
COLLAPSE_RUNS = {"healthy": "dcgan", "collapse": "collapse"}


def collapse(out_dir: str, data_dir=None, steps: int = 800, eval_every: int = 100,
             eval_samples: int = 1000, variant: str = "", progress: bool = True,
             channels: int = 0, dataset: str = "mnist") -> dict:
    runs = {}
    out_dir = _root(out_dir, dataset)
    for run_name, cfg in COLLAPSE_RUNS.items():
        c = load_config(cfg, variant, data_dir, channels, dataset, steps=steps, eval_every=eval_every,
                        eval_samples=eval_samples, sample_every=eval_every)
        wd = os.path.join(out_dir, "collapse", run_name)
        main_lib.run(c, wd, progress=progress)
        sps = [m["steps_per_sec"] for m in read_metrics(os.path.join(wd, "logs")) if "steps_per_sec" in m]
        runs[run_name] = {"config": _config_name(cfg),
                          **_describe(c), "workdir": wd, "steps": steps,
                          "steps_per_sec": float(np.median(sps)) if sps else None,
                          "curve": eval_curve(wd)}
    meta = {"eval_every": eval_every, "eval_samples": eval_samples, "variant": variant,
            "dataset": dataset, "hardware": _hardware(), "feature_net": _feature_net_name(dataset)}
    results = {"meta": meta, "runs": runs}
    _write(out_dir, "collapse", results, collapse_markdown(results))
    collapse_plot(results, os.path.join(out_dir, "collapse.png"))
    return results


def collapse_markdown(results) -> str:
    runs, meta = results["runs"], results["meta"]
    head = ["run", "config", "channels", "loss", "n_critic", "lr G / D", "steps", "class coverage",
            "class entropy", "precision", "recall", "density", "PRDC coverage",
            f"FID ({meta['eval_samples']} samples)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in runs.items():
        f = r["curve"][-1]
        lines.append("| " + " | ".join([
            name, r["config"], str(r["channels"]), r.get("loss", "-"), str(r.get("n_critic", "-")),
            f"{r['lr']:g} / {r.get('d_lr', r['lr']):g}", str(f["step"]), f"{f['class_coverage']:.2f}",
            f"{f['class_entropy']:.3f}", f"{f['precision']:.3f}", f"{f['recall']:.3f}",
            f"{f.get('density', np.nan):.3f}", f"{f.get('prdc_coverage', np.nan):.3f}",
            f"{f['fid']:.2f}"]) + " |")
    k = len(next(iter(runs.values()))["curve"][-1]["class_share"])
    lines += ["", "Share of the final samples per predicted class (%):", "",
              "| run | " + " | ".join(map(str, range(k))) + " |", "|" + "---|" * (k + 1)]
    for name, r in runs.items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * s:.0f}" for s in r["curve"][-1]["class_share"]) + " |")
    lines.append(f"\nEvaluated every {meta['eval_every']} steps on {meta['eval_samples']} EMA-generator "
                 f"samples (the same latents each time) in the space of {meta['feature_net']}; class "
                 f"coverage = fraction of the 10 classes predicted at least once; precision, recall, "
                 f"density and PRDC coverage with k = 3 against {meta['eval_samples']} real images "
                 f"(PRDC coverage resists the real outliers whose large balls can make precision "
                 f"and density high even for noise); FID from "
                 f"{meta['eval_samples']} samples is biased upward (compare runs, not papers). "
                 f"Hardware: {meta['hardware']}.\n")
    return "\n".join(lines) + "\n"


def collapse_plot(results, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for (name, r), color in zip(results["runs"].items(), ("tab:blue", "tab:red")):
        steps = [p["step"] for p in r["curve"]]
        axes[0].plot(steps, [p["class_coverage"] for p in r["curve"]], "o-", color=color, label=f"{name}: classes hit")
        axes[0].plot(steps, [p["class_entropy"] for p in r["curve"]], "--", color=color, label=f"{name}: entropy")
        axes[1].plot(steps, [p["recall"] for p in r["curve"]], "o-", color=color, label=f"{name}: recall")
        axes[1].plot(steps, [p["precision"] for p in r["curve"]], "--", color=color, label=f"{name}: precision")
        share = r["curve"][-1]["class_share"]
        width = 0.4
        offset = -width / 2 if color == "tab:blue" else width / 2
        axes[2].bar(np.arange(len(share)) + offset, share, width, color=color, label=name)
    axes[0].set(xlabel="step", ylabel="class coverage / normalised entropy", ylim=(-0.02, 1.05),
                title="class coverage")
    axes[1].set(xlabel="step", ylabel="precision / recall", ylim=(-0.02, 1.05), title="precision and recall")
    axes[2].set(xlabel="predicted class", ylabel="share of samples", title="final class histogram",
                xticks=range(MNIST_CLASSES))
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- speed ----------------------------------------------------------------------------------------
def _num_params(tree) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree.leaves(tree)))


def speed(out_dir: str, batch_size: int = 64, repeats: int = 3,
          diffusion=(("ddpm", 1000), ("ddim", 10)), variant: str = "") -> dict:
    mesh = sharding.make_mesh()
    bs = -(-batch_size // mesh.devices.size) * mesh.devices.size
    keys = sharding.put_batch(sample_lib.sample_keys(0, 0, bs), mesh)
    key = jax.random.PRNGKey(0)
    repl = sharding.replicated(mesh)
    rows = []

    c = load_config("dcgan", variant)
    gan = build.objective(c, MNIST_SHAPE, None)
    g_params = jax.jit(gan.init, out_shardings=repl)(key).ema_params
    fn = jax.jit(lambda p, k: gan.sample(p, k), out_shardings=sharding.batch_sharding(mesh))
    sec = sample_lib.time_call(fn, g_params, keys, repeats=repeats)
    rows.append({"model": "DCGAN generator", "config": "dcgan_mnist", "sampler": "G(z)", "steps": 1,
                 "network_calls": 1, "params": _num_params(g_params), "sec_per_batch": sec,
                 "images_per_sec": bs / sec})

    c = load_config("ddpm", variant)
    ddpm = build.objective(c, MNIST_SHAPE, MNIST_CLASSES)
    d_params = jax.jit(ddpm.init, out_shardings=repl)(key).ema_params
    labels = sharding.put_batch((np.arange(bs) % MNIST_CLASSES).astype(np.int32), mesh)
    z = jnp.zeros(MNIST_SHAPE)
    T = ddpm.schedule.num_timesteps
    fns = {}
    for name, steps in diffusion:
        if not 1 <= steps <= T:
            raise app.UsageError(f"--diffusion {name}:{steps}: steps must be in [1, T={T}]")
        if name not in fns:  # one compilation per sampler: the step count is a runtime value
            fns[name] = sample_lib.sampler_fn(ddpm, name, c.sampler.spacing, conditional=True, mesh=mesh)
        call = lambda n, run=fns[name]: run(d_params, keys, labels, jnp.int32(n),  # noqa: E731
                                            jnp.float32(0.0), jnp.float32(1.0), z, z, jnp.float32(0.0))
        jax.block_until_ready(call(1))  # compiles (the first time), then a 1-step call
        sec = sample_lib.time_call(call, steps, repeats=repeats, warmup=False)
        rows.append({"model": "DDPM U-Net", "config": "ddpm_mnist", "sampler": name, "steps": steps,
                     "network_calls": steps, "params": _num_params(d_params), "sec_per_batch": sec,
                     "images_per_sec": bs / sec})
    gan_ips = rows[0]["images_per_sec"]
    for r in rows:
        r["gan_speedup"] = gan_ips / r["images_per_sec"]
    meta = {"batch_size": bs, "repeats": repeats, "hardware": _hardware(), "variant": variant,
            "weights": "freshly initialised (throughput does not depend on the weights' values; "
                       "nothing was trained)"}
    results = {"meta": meta, "rows": rows}
    _write(out_dir, "speed", results, speed_markdown(results))
    return results


def speed_markdown(results) -> str:
    meta = results["meta"]
    head = ["model", "sampler", "steps", "params", "s / batch", "images/s", "GAN / this (×)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results["rows"]:
        lines.append("| " + " | ".join([
            r["model"], r["sampler"], str(r["steps"]), f"{r['params'] / 1e6:.2f}M",
            f"{r['sec_per_batch']:.4g}", f"{r['images_per_sec']:.4g}", f"{r['gan_speedup']:.4g}"]) + " |")
    lines.append(f"\nBatch {meta['batch_size']}, median of {meta['repeats']} calls after compilation, "
                 f"on {meta['hardware']}; weights {meta['weights']}.\n")
    return "\n".join(lines) + "\n"


# --- stability ------------------------------------------------------------------------------------
STABILITY_MODELS = ("dcgan", "wgan_gp", "ddpm")


def final_sampler(c, objective):
    """sample(params, key, n) with the config's final sampler (diffusion) and labels cycling
    through the classes (conditional models), as experiments.main draws samples.png."""

    def sample(params, key, n):
        return objective.sample(params, key, n, **main_lib.final_sample_kwargs(c, objective, n))

    return sample


def _cells(out_dir: str, data_dir, seeds, steps, num: int, num_real: int, variant: str,
           progress: bool, models, channels: int, dataset: str, model_steps=None, ddpm_num: int = 0):
    """Train each model with each seed (workdir out_dir/stability/MODEL_seedS; a finished cell is
    read back, not retrained) and score its final EMA samples against the training images.
    Returns (cells, meta)."""
    from gen_jax.data import load_dataset
    from gen_jax.metrics.feature_nets import load_feature_net
    from gen_jax.train.evaluation import make_evaluator, real_reference

    model_steps = dict(model_steps or {})  # entries for models not trained here are unused
    net = load_feature_net(dataset)
    c0 = load_config(models[0], variant, data_dir, dataset=dataset)
    images = load_dataset(dataset, c0.data.dir or None, "train").images
    if num_real:
        images = images[np.sort(np.random.default_rng(0).choice(len(images), num_real, replace=False))]
    ref = real_reference(net, images, num)
    cells = []
    for model in models:
        n = ddpm_num if model == "ddpm" and ddpm_num else num
        for seed in seeds:
            c = load_config(model, variant, data_dir, channels, dataset,
                            steps=model_steps.get(model, steps))
            c.seed = int(seed)
            wd = os.path.join(out_dir, "stability", f"{model}_seed{seed}")
            path = os.path.join(wd, f"final_num{n}_real{len(images)}.json")
            if os.path.exists(path):
                with open(path) as f:
                    cell = json.load(f)
                if cell["steps"] == c.train.steps and cell.get("channels") == c.model.channels:
                    cells.append(cell)
                    continue
            state = main_lib.run(c, wd, progress=progress)
            objective = build.objective(c, MNIST_SHAPE, MNIST_CLASSES)
            evaluate = make_evaluator(final_sampler(c, objective), net, ref, n, prefix="")
            cell = {"model": model, "seed": int(seed), "steps": c.train.steps, "num": n,
                    **_describe(c),
                    **{k: v for k, v in evaluate(state.ema_params, c.train.steps).items()
                       if not k.startswith("class_share/")}}
            with open(path, "w") as f:
                json.dump(cell, f)
            cells.append(cell)
    meta = {"seeds": [int(s) for s in seeds], "num": num, "ddpm_num": ddpm_num or num,
            "num_real": int(len(images)), "dataset": dataset, "feature_net": net.name,
            "hardware": _hardware(), "variant": variant}
    return cells, meta


def stability(out_dir: str, data_dir=None, seeds=(0, 1, 2), steps: int | None = None,
              num: int = 10000, num_real: int = 0, variant: str = "", progress: bool = True,
              models=STABILITY_MODELS, channels: int = 0, dataset: str = "mnist",
              model_steps=None, ddpm_num: int = 0) -> dict:
    out_dir = _root(out_dir, dataset)
    cells, meta = _cells(out_dir, data_dir, seeds, steps, num, num_real, variant, progress,
                         models, channels, dataset, model_steps, ddpm_num)
    results = {"meta": meta, "summary": summarize(cells, models), "cells": cells}
    _write(out_dir, "stability", results, stability_markdown(results))
    return results


def summarize(cells: list[dict], models) -> list[dict]:
    """Per model: FIDs over seeds, their mean, std (ddof=1; 0 for one seed) and spread (max − min),
    and the seeds' mean precision, recall and class coverage."""
    summary = []
    for model in models:
        mine = [x for x in cells if x["model"] == model]
        fids = np.array([x["fid"] for x in mine])
        summary.append({"model": model, "config": _config_name(model),
                        "steps": mine[0]["steps"], "num": mine[0].get("num"),
                        "channels": mine[0].get("channels"), "fids": fids.tolist(),
                        "fid_mean": float(fids.mean()),
                        "fid_std": float(fids.std(ddof=1)) if len(fids) > 1 else 0.0,
                        "fid_spread": float(fids.max() - fids.min()),
                        **{k: float(np.mean([x[k] for x in mine]))
                           for k in ("precision", "recall", "class_coverage", "density",
                                     "prdc_coverage", "class_entropy") if k in mine[0]}})
    return summary


def stability_markdown(results) -> str:
    meta = results["meta"]
    head = ["model", "config", "channels", "steps", "samples", "FID per seed", "mean", "std",
            "spread (max − min)", "precision", "recall", "class coverage"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results["summary"]:
        lines.append("| " + " | ".join([
            r["model"], r["config"], str(r.get("channels")), str(r["steps"]), str(r.get("num")),
            ", ".join(f"{f:.2f}" for f in r["fids"]),
            f"{r['fid_mean']:.2f}", f"{r['fid_std']:.2f}", f"{r['fid_spread']:.2f}",
            f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['class_coverage']:.2f}"]) + " |")
    lines.append(f"\nSeeds {meta['seeds']}; FID of the samples against {meta['num_real']} "
                 f"{meta.get('dataset', 'mnist')} training images in the space of {meta['feature_net']} (std over seeds, "
                 f"ddof=1); precision/recall/coverage are means over seeds. Hardware: "
                 f"{meta['hardware']}.\n")
    return "\n".join(lines) + "\n"


# --- targets --------------------------------------------------------------------------------------
TARGET_MODELS = ("dcgan", "wgan_gp", "stylegan2")


def targets(out_dir: str, data_dir=None, seeds=(0,), steps: int | None = None, num: int = 10000,
            num_real: int = 0, variant: str = "", progress: bool = True, models=TARGET_MODELS,
            channels: int = 0, dataset: str = "mnist", model_steps=None, ddpm_num: int = 0) -> dict:
    out_dir = _root(out_dir, dataset)
    cells, meta = _cells(out_dir, data_dir, seeds, steps, num, num_real, variant, progress,
                         models, channels, dataset, model_steps, ddpm_num)
    results = {"meta": meta, "summary": summarize(cells, models), "cells": cells}
    _write(out_dir, "targets", results, targets_markdown(results))
    return results


def targets_markdown(results) -> str:
    meta = results["meta"]
    head = ["model", "config", "channels", "steps", "samples", "FID", "precision", "recall",
            "density", "PRDC coverage", "class coverage", "class entropy"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results["summary"]:
        lines.append("| " + " | ".join([
            r["model"], r["config"], str(r.get("channels")), str(r["steps"]), str(r.get("num")),
            f"{r['fid_mean']:.2f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}",
            f"{r.get('density', np.nan):.3f}", f"{r.get('prdc_coverage', np.nan):.3f}",
            f"{r['class_coverage']:.2f}", f"{r.get('class_entropy', np.nan):.3f}"]) + " |")
    lines.append(f"\n{meta['dataset']}; means over seeds {meta['seeds']}; FID of the samples against "
                 f"{meta['num_real']} training images, precision/recall/density/PRDC coverage "
                 f"(k = 3) against as many real feature rows as samples, class coverage = fraction "
                 f"of the 10 classes predicted at least once, class entropy = normalised entropy of "
                 f"the predicted-class histogram, all in the space of {meta['feature_net']}. "
                 f"Hardware: {meta['hardware']}.\n")
    return "\n".join(lines) + "\n"


def _model_steps(specs) -> dict:
    out = {}
    for spec in specs:
        name, _, steps = spec.partition(":")
        if name not in CONFIGS or not steps.isdigit() or int(steps) < 1:
            raise app.UsageError(f"--model_steps: expected MODEL:STEPS with MODEL in {sorted(CONFIGS)} "
                                 f"and STEPS >= 1, got {spec!r}")
        out[name] = int(steps)
    return out


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    out, mode, dataset = _OUT.value, _MODE.value, _DATASET.value
    if mode == "objective":
        res = objective_trick(out, _DATA_DIR.value, _STEPS.value or 100, _LOG_EVERY.value,
                              _VARIANT.value, channels=_CHANNELS.value, dataset=dataset)
        print(objective_markdown(res))
    elif mode == "collapse":
        res = collapse(out, _DATA_DIR.value, _STEPS.value or 800, _EVAL_EVERY.value,
                       _EVAL_SAMPLES.value, _VARIANT.value, channels=_CHANNELS.value, dataset=dataset)
        print(collapse_markdown(res))
    elif mode == "speed":
        diffusion = []
        for spec in _DIFFUSION.value:
            name, _, steps = spec.partition(":")
            if name not in ("ddpm", "ddim") or not steps.isdigit():
                raise app.UsageError(f"--diffusion: expected ddpm:STEPS or ddim:STEPS, got {spec!r}")
            diffusion.append((name, int(steps)))
        print(speed_markdown(speed(out, _BATCH.value, _REPEATS.value, diffusion, _VARIANT.value)))
    else:
        fn, md = (stability, stability_markdown) if mode == "stability" else (targets, targets_markdown)
        models = tuple(_MODELS.value or (STABILITY_MODELS if mode == "stability" else TARGET_MODELS))
        for m in models:
            if m not in CONFIGS or m == "collapse":
                raise app.UsageError(f"--models: unknown model {m!r}; expected some of "
                                     f"{sorted(set(CONFIGS) - {'collapse'})}")
        res = fn(out, _DATA_DIR.value, [int(s) for s in _SEEDS.value], _STEPS.value, _NUM.value,
                 _NUM_REAL.value, _VARIANT.value, models=models, channels=_CHANNELS.value,
                 dataset=dataset, model_steps=_model_steps(_MODEL_STEPS.value),
                 ddpm_num=_DDPM_NUM.value)
        print(md(res))


if __name__ == "__main__":
    flags.mark_flags_as_required(["mode"])
    app.run(main)
