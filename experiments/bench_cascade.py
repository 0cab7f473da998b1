"""Cascaded diffusion against one full-resolution model on CIFAR-10, at the same training budget,
and the super-resolution stage against bicubic upsampling on the test split.

Three networks of the same U-Net design (widths, depth, attention at 8x8), the same process and
prediction (DDPM cosine, eps), trained from CIFAR-10 in memory:
  base    class-conditional diffusion at LxL (the training images box-downsampled, as the SR
          model's low-resolution inputs are made), --steps steps;
  sr      sr_mnist.py:cifar16-style super-resolution LxL -> 32x32 with noise-conditioning
          augmentation (not class-conditional: the input carries the content), --steps steps;
  single  class-conditional diffusion at 32x32, 2 x --steps steps (the cascade's total).
Then: PSNR / SSIM / consistency / FID of SR against bicubic on test images; FID and sampling
time of the cascade (base, then SR at each --aug_levels) against the single model at the same
sampler steps per stage and at the same total network calls. FIDs use the CIFAR-10 feature
network against 10,000 training images; the real test images' FID is the floor.

python -m experiments.bench_cascade --data_dir=../shared/data --run_dir=runs/cascade \
    --steps=4000 --batch_size=128 --num=5000 --out=docs/super_resolution
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from experiments import bench_common as bc

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other benches that define flags of the same names."""
    global _RUN_DIR, _DATA_DIR, _OUT, _STEPS, _BATCH, _CHANNELS, _LOWRES, _NUM, _SAMPLE_STEPS, _AUG
    global _CHUNK, _SPC, _NUM_REAL
    _RUN_DIR = flags.DEFINE_string("run_dir", None, "Folder of the three training workdirs (resumed if present).")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory holding cifar10_jpeg/.")
    _OUT = flags.DEFINE_string("out", "runs/bench_cascade", "Output folder for JSON, Markdown, pictures.")
    _STEPS = flags.DEFINE_integer("steps", 4000, "Training steps of the base and of the SR model (single: 2x).")
    _BATCH = flags.DEFINE_integer("batch_size", 128, "Training batch.")
    _CHANNELS = flags.DEFINE_integer("channels", 64, "U-Net base channels (all three networks).")
    _LOWRES = flags.DEFINE_integer("lowres", 16, "Side of the base model's images / the SR input (8 or 16).")
    _NUM = flags.DEFINE_integer("num", 5000, "Generated samples and test images to evaluate.")
    _SAMPLE_STEPS = flags.DEFINE_integer("sample_steps", 50, "DDIM steps per stage.")
    _AUG = flags.DEFINE_list("aug_levels", ["0", "0.1", "0.2"], "SR noise-augmentation levels of the cascade.")
    _CHUNK = flags.DEFINE_integer("chunk", 500, "Sampling batch.")
    _SPC = flags.DEFINE_integer("steps_per_call", 10, "Training steps per dispatch (lax.scan).")
    _NUM_REAL = flags.DEFINE_integer("num_real", 10000, "Training images of the FID reference.")


def configs(steps: int, batch: int, channels: int, lowres: int):
    """(base, sr, single) configs: one U-Net design, DDPM cosine / eps, DDIM."""
    from experiments.configs import common, sr_mnist
    from experiments.configs.diffusion_default import general_diffusion

    model = dict(channels=channels, channel_mult=(1, 2, 2), num_res_blocks=1, attention_resolutions=(8,))
    shared = dict(objective=dict(process="ddpm_cosine", prediction="eps"),
                  sampler=dict(name="ddim", num_steps=50), model=model,
                  optim=dict(learning_rate=2e-4, warmup_steps=200),
                  train=dict(steps=steps, batch_size=batch, sample_every=0, ckpt_every=steps,
                             log_every=max(steps // 10, 1), num_final_samples=0))

    def diffusion(n_steps):
        c = common.guided(general_diffusion(common.base_config()))
        c.data.name = "cifar10"
        common.update(c, **shared)
        c.train.steps = c.train.ckpt_every = n_steps
        return c

    sr = sr_mnist.get_config(f"cifar{lowres}")
    common.update(sr, **shared)
    return diffusion(steps), sr, diffusion(2 * steps)


def _lowres(images: np.ndarray, size: int) -> np.ndarray:
    """The SR objective's low-resolution view (gen_jax.data.lowres.downsample) as a host array."""
    from gen_jax.data.lowres import downsample

    return np.asarray(downsample(jnp.asarray(images), size))


def _train(c, images, labels, workdir):
    from experiments import build
    from gen_jax.train.loop import train

    obj = build.objective(c, images.shape[1:], 10)
    t0 = time.time()
    state = train(obj, images, labels, workdir=workdir, num_steps=c.train.steps,
                  batch_size=c.train.batch_size, seed=c.seed, log_every=c.train.log_every,
                  ckpt_every=c.train.ckpt_every, progress=True, steps_per_call=_SPC.value)
    return obj, state, time.time() - t0


def _steady_speed(workdir: str):
    """Median steps/s of a run's logged intervals after the first (which holds the compilation)."""
    try:
        with open(os.path.join(workdir, "logs", "metrics.jsonl")) as f:
            speeds = [json.loads(line).get("steps_per_sec") for line in f][1:]
    except OSError:
        return None
    speeds = [v for v in speeds if v]
    return round(float(np.median(speeds)), 2) if speeds else None


def _timed(fn, n: int, chunk: int):
    """(outputs of fn(start, count) over [0, n) in chunks, seconds): one warm-up call (the
    compilation) is left out of the time."""
    jax.block_until_ready(fn(0, min(chunk, n)))
    t0, outs = time.time(), []
    for s in range(0, n, chunk):
        outs.append(np.asarray(jax.block_until_ready(fn(s, min(chunk, n - s)))))
    return np.concatenate(outs), time.time() - t0


def _partial(out: str, res: dict) -> None:
    """What is measured so far, in case a time limit ends the run early."""
    with open(os.path.join(out, f"cascade_cifar{_LOWRES.value}_partial.json"), "w") as f:
        json.dump(res, f, indent=1)


def run(out: str) -> dict:
    from gen_jax.data import load_dataset
    from gen_jax.data.lowres import upsample
    from gen_jax.metrics.feature_nets import feature_stats, load_feature_net
    from gen_jax.metrics.restoration import consistency_mse, psnr, ssim
    from gen_jax.sr.cascade import stage_keys
    from gen_jax.train.evaluation import RealReference
    from gen_jax.utils.images import save_grid, to_uint8

    steps, n, chunk, L, T = _STEPS.value, _NUM.value, _CHUNK.value, _LOWRES.value, _SAMPLE_STEPS.value
    base_c, sr_c, single_c = configs(steps, _BATCH.value, _CHANNELS.value, L)
    data_dir = _DATA_DIR.value
    train_set = load_dataset("cifar10", data_dir, "train")
    test_set = load_dataset("cifar10", data_dir, "test")
    images, labels = train_set.images, train_set.labels
    res = {"steps_base": steps, "steps_sr": steps, "steps_single": 2 * steps, "batch_size": _BATCH.value,
           "channels": _CHANNELS.value, "lowres": L, "num": n, "sampler": f"ddim {T} steps per stage",
           "process": "ddpm_cosine, eps", "train_seconds": {}, "sample_seconds": {}}

    models = {}
    for name, c, x in (("base", base_c, _lowres(images, L)), ("sr", sr_c, images), ("single", single_c, images)):
        obj, state, secs = _train(c, x, labels, os.path.join(_RUN_DIR.value, name))
        models[name] = (obj, state.ema_params)
        res["train_seconds"][name] = round(secs, 1)
        res.setdefault("train_steps_per_sec", {})[name] = _steady_speed(os.path.join(_RUN_DIR.value, name))
        print(f"bench_cascade: trained {name} ({c.train.steps} steps) in {secs:.0f} s", flush=True)
        _partial(out, res)

    net = load_feature_net("cifar10")
    real = bc.real_images("cifar10", data_dir, "train", _NUM_REAL.value)
    mu, sigma, feats = feature_stats(net, real)
    ref = RealReference(mu, sigma, feats)
    rng = np.random.default_rng(1)
    pick = rng.permutation(len(test_set.images))[:n]
    test, test_labels = test_set.images[pick], test_set.labels[pick]
    fid = lambda x: round(bc.fid_to(net, x, ref), 3)
    rows = {"real test images (floor)": {"fid": fid(test)}}

    # --- SR of test images against bicubic ---------------------------------------------------
    sr, sr_params = models["sr"]
    low_test = _lowres(test, L)
    key = jax.random.PRNGKey(0)
    sr_fn = jax.jit(lambda p, k, z, s: sr.sample(p, k, sampler="ddim", num_steps=T, lowres=z, aug_level=s))

    def restoration(x):
        return {"psnr": round(float(np.mean(psnr(x, test))), 3), "ssim": round(float(np.mean(ssim(x, test))), 4),
                "consistency_mse": float(np.mean(consistency_mse(jnp.asarray(x), jnp.asarray(low_test)))),
                "fid": fid(x)}

    bicubic = np.clip(np.asarray(upsample(jnp.asarray(low_test), 32, "bicubic")), -1, 1)
    keys = jax.random.split(key, n)
    sr_test, secs = _timed(lambda s, m: sr_fn(sr_params, keys[s:s + m], jnp.asarray(low_test[s:s + m]), 0.0), n, chunk)
    res["sample_seconds"]["sr_test"] = round(secs, 2)
    res["restoration"] = {"bicubic": restoration(bicubic), "SR diffusion (aug_level 0)": restoration(sr_test),
                          "ground truth": {"psnr": float("inf"), "ssim": 1.0, "consistency_mse": 0.0,
                                           "fid": rows["real test images (floor)"]["fid"]}}
    _partial(out, res)
    save_grid(os.path.join(out, f"sr_cifar{L}_grid.png"),
              to_uint8(np.concatenate([np.asarray(upsample(jnp.asarray(low_test[:10]), 32, "nearest")),
                                       bicubic[:10], sr_test[:10], test[:10]])), ncols=10)

    # --- cascade against the single model ----------------------------------------------------
    base, base_params = models["base"]
    single, single_params = models["single"]
    gen_labels = jnp.arange(n) % 10
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(n))
    base_fn = jax.jit(lambda p, k, y: base.sample(p, k, sampler="ddim", num_steps=T, labels=y))
    low, secs = _timed(lambda s, m: base_fn(base_params, stage_keys(keys[s:s + m], 0), gen_labels[s:s + m]), n, chunk)
    res["sample_seconds"]["base"] = round(secs, 2)
    rows[f"base {L}x{L}, bicubic to 32x32"] = {"fid": fid(np.clip(np.asarray(upsample(jnp.asarray(low), 32, "bicubic")), -1, 1)),
                                               "network_calls": T, "seconds": round(secs, 2)}
    cascades = {}
    for level in map(float, _AUG.value):
        hi, secs = _timed(lambda s, m: sr_fn(sr_params, stage_keys(keys[s:s + m], 1), jnp.asarray(low[s:s + m]), level),
                          n, chunk)
        cascades[level] = hi
        rows[f"cascade (base + SR, aug_level {level:g})"] = {
            "fid": fid(hi), "network_calls": 2 * T, "seconds": round(res["sample_seconds"]["base"] + secs, 2)}
        res["generation"] = rows
        _partial(out, res)
    single_fn = jax.jit(lambda p, k, y, t: single.sample(p, k, sampler="ddim", num_steps=t, labels=y),
                        static_argnums=3)
    for t in (T, 2 * T):
        x, secs = _timed(lambda s, m: single_fn(single_params, keys[s:s + m], gen_labels[s:s + m], t), n, chunk)
        res["sample_seconds"][f"single_{t}"] = round(secs, 2)
        rows[f"single 32x32, {t} steps"] = {"fid": fid(x), "network_calls": t, "seconds": round(secs, 2)}
        if t == T:
            single_x = x
    res["generation"] = rows
    first = cascades[min(cascades)]
    save_grid(os.path.join(out, f"cascade_cifar{L}_grid.png"),
              to_uint8(np.concatenate([np.asarray(upsample(jnp.asarray(low[:10]), 32, "nearest")), first[:10],
                                       single_x[:10]])), ncols=10)
    res["fid_reference"] = f"{len(real)} CIFAR-10 training images, cifar10_classifier features"
    return res


def markdown(res: dict) -> str:
    rest = [dict(name=k, **v) for k, v in res["restoration"].items()]
    gen = [dict(name=k, **v) for k, v in res["generation"].items()]
    t = res["train_seconds"]
    return "\n\n".join([
        f"SR {res['lowres']}x{res['lowres']} -> 32x32 on {res['num']} CIFAR-10 test images "
        f"(DDIM {res['sample_steps'] if 'sample_steps' in res else ''}):",
        bc.markdown_table(rest, [("", "name"), ("PSNR (dB)", "psnr", "{:.2f}"), ("SSIM", "ssim", "{:.3f}"),
                                 ("consistency MSE", "consistency_mse", "{:.4f}"), ("FID", "fid", "{:.2f}")]),
        f"Generation, {res['num']} samples (training wall time: base {t['base']} s + SR {t['sr']} s "
        f"= {t['base'] + t['sr']:.1f} s; single {t['single']} s; compilation included; steps/s after "
        f"compilation: {res.get('train_steps_per_sec')}):",
        bc.markdown_table(gen, [("", "name"), ("FID", "fid", "{:.2f}"), ("network calls", "network_calls"),
                                ("sampling s", "seconds", "{:.2f}")])])


def main(argv):
    del argv
    os.makedirs(_OUT.value, exist_ok=True)
    res = run(_OUT.value)
    res["sample_steps"] = _SAMPLE_STEPS.value
    res.update(bc.run_info())
    bc.write_results(_OUT.value, f"cascade_cifar{_LOWRES.value}_bench", res, markdown(res), echo=True)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["run_dir"])
    app.run(main)
