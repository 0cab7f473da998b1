"""bench_gan --mode=objective: the seeds' "objective trick", the minimax against the non-saturating
generator loss of one DCGAN, analytic gradients beside the measured ones (experiments/bench_gan.py
says what it writes)."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from experiments import bench_common as bc
from experiments import train as main_lib
from experiments.bench_gan_common import describe, load_config, log_rows, root

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


def objective_trick(out_dir: str, data_dir=None, steps: int = 100, log_every: int = 2,
                    variant: str = "", progress: bool = True, channels: int = 0,
                    dataset: str = "mnist") -> dict:
    runs = {}
    out_dir = root(out_dir, dataset)
    for loss in OBJECTIVE_LOSSES:
        c = load_config("dcgan", variant, data_dir, channels, dataset, steps=steps,
                        log_every=log_every, ckpt_every=steps, sample_every=0)
        c.objective.loss = loss
        wd = os.path.join(out_dir, "objective", loss)
        main_lib.run(c, wd, progress=progress)
        runs[loss] = {"config": "dcgan_mnist", **describe(c), "workdir": wd, "steps": steps,
                      "curve": log_rows(wd, ("g_grad_norm", "d_fake_prob", "g_loss", "d_loss"))}
    p = np.linspace(0.0005, 0.9995, 400)
    analytic = {"d_fake_prob": p.tolist(), **{k: v.tolist() for k, v in objective_curves(p).items()}}
    meta = {"log_every": log_every, "variant": variant, "dataset": dataset, **bc.run_info()}
    results = {"meta": meta, "analytic": analytic, "runs": runs}
    bc.write_results(out_dir, "objective", results, objective_markdown(results))
    objective_plot(results, os.path.join(out_dir, "objective.png"))
    return results


def objective_markdown(results, rows: int = 8) -> str:
    runs = results["runs"]
    steps = [p["step"] for p in next(iter(runs.values()))["curve"]]
    shown = sorted({steps[int(i)] for i in np.linspace(0, len(steps) - 1, min(rows, len(steps)))})
    by_step = {name: {p["step"]: p for p in r["curve"]} for name, r in runs.items()}
    cols = [("step", "step")]
    for name in runs:
        at = lambda r, k, name=name: by_step[name].get(r["step"], {}).get(k)  # noqa: E731
        cols += [(f"{name}: D(G(z))", lambda r, at=at: at(r, "d_fake_prob"), "{:.3f}"),
                 (f"{name}: ‖∇_θ L_G‖", lambda r, at=at: at(r, "g_grad_norm"), "{:.3g}")]
    r, meta = next(iter(runs.values())), results["meta"]
    return (bc.markdown_table([{"step": s} for s in shown], cols) +
            f"\n\nDCGAN ({r['config']}, model.channels {r['channels']}, batch {r['batch_size']}, "
            f"lr G = D = {r['lr']:g}) on {meta['dataset']}, the same seed for both losses; D(G(z)) = "
            f"mean σ(f(G(z))) and ‖∇_θ L_G‖ = global norm of G's gradient, logged every "
            f"{meta['log_every']} steps. Hardware: {meta['hardware']}.\n\n")


def objective_plot(results, path: str) -> None:
    colors = {"minimax": "tab:red", "nonsaturating": "tab:blue"}
    label = {"minimax": "minimax  log(1 − D(G(z)))", "nonsaturating": "non-saturating  −log D(G(z))"}
    a = results["analytic"]
    fig, axes = bc.subplots(3, figsize=(14, 3.8))
    for name, r in results["runs"].items():
        axes[0].plot(a["d_fake_prob"], np.abs(a[name]), color=colors[name], label=label[name])
        pts = np.array([p["d_fake_prob"] for p in r["curve"]])
        axes[0].scatter(pts, np.abs(np.interp(pts, a["d_fake_prob"], a[name])), s=8,
                        color=colors[name], alpha=0.5)
        steps = [p["step"] for p in r["curve"]]
        for ax, key in ((axes[1], "g_grad_norm"), (axes[2], "d_fake_prob")):
            ax.plot(steps, [p[key] for p in r["curve"]], ".-", color=colors[name], label=name)
    axes[0].set(xlabel="D(G(z))", ylabel="|∂L_G / ∂logit|", yscale="log", ylim=(3e-4, 1.5),
                title="generator loss gradient (analytic; dots: measured D(G(z)))")
    axes[1].set(xlabel="step", ylabel="‖∇_θ L_G‖", yscale="log", title="measured G-gradient norm")
    axes[2].set(xlabel="step", ylabel="D(G(z))", ylim=(-0.02, 1.02), title="measured D(G(z))")
    bc.save_figure(fig, path, dpi=90)
