"""Latent diffusion, measured: the autoencoder's reconstructions (PSNR, FID) and the cost per sample
of latent against pixel diffusion at the same output resolution.

python -m experiments.bench_ldm --ldm_workdir=runs/ldm_cifar10 --num=500 --steps=20 \
    --data_dir=../shared/data --out_dir=runs/bench_ldm

- Reconstructions (decode(posterior mean)) of --num random test images: PSNR (dB, on uint8
  images, the mean over images), FID and precision/recall against the training split in the
  dataset's feature-network space, beside the real-vs-real floor (the same test images).
- Cost: the LDM's denoiser network (trained parameters, latent shape) against the same network
  config (widths, levels, blocks) on pixels. FLOPs per sample from XLA's cost analysis of the
  compiled function (jax.jit(f).lower(...).compile().cost_analysis()["flops"] / batch) for one
  denoiser call, for a whole DDIM sampler of --flops_steps steps (its debug path: the steps
  unrolled, because XLA counts a while loop's body once), and for the decoder; wall time per
  sample (median of --repeats calls on a batch of --batch_size) for one call, the --steps-step
  DDIM sampler (the on-device loop) and the decoder.
- Samples of the LDM (DDIM, --steps): FID etc. of --num samples (--sample_fid).
Writes results.json and results.md in --out_dir, and recon.png (originals above reconstructions)
and samples.png.

python -m experiments.bench_ldm --cost_only --steps=20 --out_dir=runs/bench_ldm_cost

--cost_only: only the cost comparison, without trained workdirs: the networks of
configs/ldm_cifar10.py (the U-Net, on 32x32x3 pixels and on the 8x8x4 latents) and
configs/autoencoder_cifar10.py (the decoder), freshly initialised (FLOPs and times do not depend on
the weights). Writes cost.json and cost.md. Each row also gives the sampler's time over --steps
times one call's: about 1 when the timing is clean (the loop costs its network calls and nothing
more), far above 1 when other jobs took the cores during the measurement.
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments import build
from experiments import sampling as sample_lib
from experiments.ldm_cost import _cost_rows, cost_markdown, denoiser_cost, fresh_cost
from gen_jax.metrics.reconstruction import psnr
from gen_jax.utils.images import save_grid, to_uint8

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _LDM, _NUM, _STEPS, _FLOPS_STEPS, _BATCH, _REPEATS, _SAMPLE_FID, _DATA_DIR, _OUT
    global _NUM_REAL, _COST_ONLY
    _LDM = flags.DEFINE_string("ldm_workdir", None, "Trained latent_diffusion workdir (its config names "
                               "the autoencoder workdir).")
    _NUM = flags.DEFINE_integer("num", 500, "Test images reconstructed / samples drawn.")
    _STEPS = flags.DEFINE_integer("steps", 20, "DDIM steps of the timed sampler and of the samples.")
    _FLOPS_STEPS = flags.DEFINE_integer("flops_steps", 4, "DDIM steps of the unrolled sampler whose "
                                        "FLOPs XLA counts.")
    _BATCH = flags.DEFINE_integer("batch_size", 8, "Batch of the FLOP counts and timings.")
    _REPEATS = flags.DEFINE_integer("repeats", 3, "Timed calls (median).")
    _SAMPLE_FID = flags.DEFINE_bool("sample_fid", True, "Also score --num LDM samples.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the run's config).")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_ldm", "Output directory.")
    _NUM_REAL = flags.DEFINE_integer("num_real", 10000, "Training images of the reference statistics "
                                     "(0: the whole split).")
    _COST_ONLY = flags.DEFINE_bool("cost_only", False, "Only the latent-vs-pixel cost, with freshly "
                                   "initialised networks of configs/ldm_cifar10.py and "
                                   "autoencoder_cifar10.py (no workdir needed).")


def markdown(res) -> str:
    r, m = res["reconstruction"], res["meta"]
    lines = [f"Autoencoder {m['ae_workdir']} (step {m['ae_step']}, f = {m['factor']}, latents "
             f"{'x'.join(map(str, m['latent_shape']))}, scale {m['latent_scale']:.4f}); "
             f"{r['num']} {m['data']} test images; reference: {m['num_real']} random training images; features: {m['feature_net']}; hardware: {m['hardware']}.",
             "", bc.markdown_table([r], [
                 ("reconstruction PSNR (dB)", lambda x: f"{x['psnr_mean']:.2f} ± {x['psnr_std']:.2f}"),
                 ("rFID", "fid", "{:.3f}"), ("floor FID (originals)", "floor_fid", "{:.3f}"),
                 ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}")]), "",
             f"Cost per sample (batch {m['batch_size']}; sampler FLOPs: DDIM with its steps unrolled, "
             f"{res['pixel']['flops_steps']} steps counted, scaled to {m['steps']}; times: the on-device "
             f"{m['steps']}-step loop):", "",
             ] + _cost_rows(res, m["steps"])
    if "samples" in res:
        s = res["samples"]
        lines += ["", f"LDM samples (DDIM {m['steps']} steps, {s['num']} samples): FID {s['fid']:.3f}, "
                  f"precision {s['precision']:.3f}, recall {s['recall']:.3f}, class entropy "
                  f"{s['class_entropy']:.3f}; {1e3 * s['sec_per_sample']:.2f} ms / sample."]
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from gen_jax.metrics.feature_nets import load_feature_net

    os.makedirs(_OUT.value, exist_ok=True)
    if _COST_ONLY.value:
        res = fresh_cost(_BATCH.value, _FLOPS_STEPS.value, _STEPS.value, _REPEATS.value)
        bc.write_results(_OUT.value, "cost", res, cost_markdown(res), echo=True)
        return
    if not _LDM.value:
        raise app.UsageError("--ldm_workdir is required (or --cost_only)")
    c, ldm, state, _ = sample_lib.load_objective_and_params(_LDM.value)
    if c.objective.name != "latent_diffusion" or c.objective.base != "ddpm":
        raise app.UsageError(f"--ldm_workdir: {_LDM.value} is a {c.objective.name!r} run "
                             f"(base {c.objective.get('base')!r}); the benchmark takes latent_diffusion "
                             f"with objective.base 'ddpm' (its DDIM sampler is timed)")
    data_dir = _DATA_DIR.value or c.data.dir or None
    ae, ae_params = ldm.autoencoder, ldm.ae_params
    net = load_feature_net(c.data.name)
    ref, num_real = bc.training_reference(net, c.data.name, data_dir, _NUM.value, _NUM_REAL.value)
    test = bc.real_images(c.data.name, data_dir, "test", _NUM.value, seed=1)

    print("reconstructions ...")
    rec_fn = jax.jit(ae.reconstruct)
    recon = np.concatenate([to_uint8(rec_fn(ae_params, jnp.asarray(test[i:i + 250])))
                            for i in range(0, len(test), 250)])
    orig = to_uint8(test)
    p = psnr(orig, recon)
    rec = {"num": len(test), "psnr_mean": float(p.mean()), "psnr_std": float(p.std()),
           "floor_fid": bc.fid_to(net, orig, ref),
           **bc.scores(net, recon, ref)}
    save_grid(os.path.join(_OUT.value, "recon.png"), np.concatenate([orig[:16], recon[:16]]), ncols=16)
    print(f"PSNR {rec['psnr_mean']:.2f} dB, rFID {rec['fid']:.3f} (floor {rec['floor_fid']:.3f})")

    print("cost ...")
    bs, steps = _BATCH.value, _STEPS.value
    pixel = build.OBJECTIVES[c.objective.base](c, ldm.image_shape, ldm.num_classes)
    pixel_params = pixel.init(jax.random.PRNGKey(0)).params
    res = {"reconstruction": rec,
           "pixel": denoiser_cost(pixel, pixel_params, ldm.image_shape, bs, _FLOPS_STEPS.value,
                                  steps, _REPEATS.value),
           "latent": denoiser_cost(ldm.inner, state.ema_params, ldm.latent_shape, bs,
                                   _FLOPS_STEPS.value, steps, _REPEATS.value, decode=ldm.decode)}
    res["meta"] = {"ldm_workdir": _LDM.value, "ae_workdir": c.objective.autoencoder_workdir,
                   "ae_step": None, "factor": ldm.image_shape[0] // ldm.latent_shape[0],
                   "latent_shape": list(ldm.latent_shape), "latent_scale": float(ldm.scale),
                   "data": c.data.name, "num_real": int(num_real), "feature_net": net.name, "batch_size": bs, "steps": steps,
                   "ldm_step": int(jax.device_get(state.step)), **bc.run_info(load=True)}
    scale_file = os.path.join(c.objective.autoencoder_workdir, "latent_scale.json")
    if os.path.exists(scale_file):
        with open(scale_file) as f:
            res["meta"]["ae_step"] = json.load(f).get("checkpoint_step")

    if _SAMPLE_FID.value:
        print("samples ...")
        labels = (np.arange(_NUM.value) % ldm.num_classes).astype(np.int32) if ldm.num_classes else None
        t0 = time.perf_counter()
        images = sample_lib.generate(ldm, state.ema_params, num=_NUM.value, seed=0, sampler="ddim",
                                     num_steps=steps, labels=labels, batch_size=250)
        sec = (time.perf_counter() - t0) / _NUM.value  # includes the one compilation
        save_grid(os.path.join(_OUT.value, "samples.png"), images[:100], ncols=10)
        res["samples"] = {"num": _NUM.value, "sec_per_sample": sec,
                          **bc.scores(net, images, ref)}
    bc.write_results(_OUT.value, "results", res, markdown(res), echo=True)


if __name__ == "__main__":
    define_flags()
    app.run(main)
