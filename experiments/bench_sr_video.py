"""CPU-sized measurements of super-resolution (MNIST 7x7 -> 28x28) and video (small Moving MNIST):
trains a small model with experiments.main, then writes <out>/<task>_bench.json, a Markdown table
and pictures (SR: a PNG grid; video: GIF grids).

python -m experiments.bench_sr_video --task=sr --run_dir=runs/bench_sr --steps=400 \
    --data_dir=../shared/data --out=docs/super_resolution
python -m experiments.bench_sr_video --task=video --run_dir=runs/bench_video --steps=150 \
    --data_dir=../shared/data --out=docs/video
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
    module beside other commands that define flags of the same names."""
    global _NETS, _TASK, _WORKDIR, _STEPS, _BATCH, _CHANNELS, _NUM, _SAMPLE_STEPS, _DATA_DIR, _OUT
    _TASK = flags.DEFINE_enum("task", "sr", ["sr", "video"], "What to measure.")
    _WORKDIR = flags.DEFINE_string("run_dir", None, "Training workdir (resumed if present).")
    _STEPS = flags.DEFINE_integer("steps", 400, "Training steps.")
    _BATCH = flags.DEFINE_integer("batch_size", 32, "Training batch (clips for video).")
    _CHANNELS = flags.DEFINE_integer("channels", 16, "U-Net base channels.")
    _NUM = flags.DEFINE_integer("num", 500, "Test images (SR) or generated clips (video) to evaluate.")
    _SAMPLE_STEPS = flags.DEFINE_integer("sample_steps", 20, "DDIM steps at evaluation.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory.")
    _OUT = flags.DEFINE_string("out", "runs/bench_sr_video", "Output folder for JSON, Markdown, pictures.")
    _NETS = flags.DEFINE_list("feature_nets", ["mnist"], "MNIST feature networks of the FIDs (the "
                              "first also labels the video frames), e.g. mnist,mnist_v1.")


def _train(c, workdir):
    from experiments.train import run

    c.data.dir = _DATA_DIR.value or ""
    c.model.channels = _CHANNELS.value
    c.train.steps = _STEPS.value
    c.train.batch_size = _BATCH.value
    c.train.sample_every = 0
    c.train.ckpt_every = _STEPS.value
    c.train.log_every = 50
    c.optim.warmup_steps = 50
    t0 = time.time()
    state = run(c, workdir, progress=False)
    return state, time.time() - t0


def _batched(fn, n, chunk):
    outs = []
    for s in range(0, n, chunk):
        outs.append(np.asarray(fn(s, min(chunk, n - s))))
    return np.concatenate(outs)


def bench_sr(out):
    from experiments import build
    from experiments.configs import sr_mnist
    from gen_jax.data import load_dataset
    from gen_jax.data.lowres import downsample, upsample
    from gen_jax.metrics.feature_nets import load_feature_net
    from gen_jax.metrics.restoration import consistency_mse, psnr, ssim
    from gen_jax.utils.images import save_grid, to_uint8

    c = sr_mnist.get_config()
    c.model.channel_mult = (1, 2)
    c.model.attention_resolutions = (14,)
    state, train_s = _train(c, _WORKDIR.value)
    ds = build.dataset(c)
    obj = build.objective(c, *build.image_info(ds))
    test = load_dataset("mnist", c.data.dir or None, "test").images[:_NUM.value]
    low = np.asarray(downsample(jnp.asarray(test), 7))
    rows = {}
    sample = jax.jit(lambda p, k, z, s: obj.sample(p, k, sampler="ddim", num_steps=_SAMPLE_STEPS.value,
                                                   lowres=z, aug_level=s))
    t0 = time.time()
    outs = {}
    for level in (0.0, 0.1):
        outs[level] = _batched(lambda s, n: sample(state.ema_params, jax.random.fold_in(jax.random.PRNGKey(0), s),
                                                   jnp.asarray(low[s:s + n]), level), len(low), 100)
    sample_s = time.time() - t0
    outs["bicubic"] = np.clip(np.asarray(upsample(jnp.asarray(low), 28, "bicubic")), -1, 1)
    nets = [load_feature_net(n) for n in _NETS.value]
    other = load_dataset("mnist", c.data.dir or None, "test").images[5000:5000 + len(test)]

    def fids(x):  # "fid" in the first network, "fid_NAME" in each further one
        return {("fid" if i == 0 else f"fid_{name}"): bc.fid_between(net, x, other)
                for i, (name, net) in enumerate(zip(_NETS.value, nets))}

    for name, x in outs.items():
        label = "bicubic" if name == "bicubic" else f"SR diffusion (aug_level {name})"
        rows[label] = {"psnr": float(np.mean(psnr(x, test))), "ssim": float(np.mean(ssim(x, test))),
                       "consistency_mse": float(np.mean(consistency_mse(x, jnp.asarray(low)))),
                       **fids(x)}
    rows["ground truth"] = {"psnr": float("inf"), "ssim": 1.0, "consistency_mse": 0.0, **fids(test)}
    grid = np.concatenate([np.asarray(upsample(jnp.asarray(low[:10]), 28, "nearest")), outs["bicubic"][:10],
                           outs[0.0][:10], test[:10]])
    save_grid(os.path.join(out, "sr_mnist_grid.png"), to_uint8(grid), ncols=10)
    return {"task": "sr_mnist 7x7 -> 28x28", "steps": _STEPS.value, "batch_size": _BATCH.value,
            "channels": _CHANNELS.value, "train_seconds": round(train_s, 1),
            "sample_seconds_both_levels": round(sample_s, 1), "num_test": len(test),
            "sampler": f"ddim {_SAMPLE_STEPS.value} steps", "rows": rows,
            "fid_reference": f"{len(test)} other MNIST test images (5000 on), features: "
                             + ", ".join(net.name for net in nets)}


def bench_video(out):
    from experiments import build
    from experiments.configs import video_mnist
    from gen_jax.data import load_dataset
    from gen_jax.metrics.feature_nets import load_feature_net, predict_labels
    from gen_jax.metrics.video import centre_crops, identity_over_time, motion_statistics
    from gen_jax.utils.video import save_gif
    from gen_jax.video.objective import task_mask

    c = video_mnist.get_config()
    c.model.channel_mult = (1, 2)
    c.model.attention_resolutions = ()
    c.model.temporal_heads = 2
    state, train_s = _train(c, _WORKDIR.value)
    ds = build.dataset(c)
    obj = build.objective(c, *build.image_info(ds))
    real = load_dataset("moving_mnist_small", c.data.dir or None, "test")
    n, T = _NUM.value, obj.num_frames
    labels = np.arange(n) % 10
    gen = jax.jit(lambda p, k, y, w: obj.sample(p, k, y.shape[0], sampler="ddim",
                                                 num_steps=_SAMPLE_STEPS.value, labels=y, guidance=w))
    t0 = time.time()
    fake = _batched(lambda s, m: gen(state.ema_params, jax.random.fold_in(jax.random.PRNGKey(0), s),
                                     jnp.asarray(labels[s:s + m]), 2.0), n, 32)
    gen_s = time.time() - t0
    k = T // 2
    pred = jax.jit(lambda p, key, known: obj.sample(p, key, known.shape[0], sampler="ddim",
                                                    num_steps=_SAMPLE_STEPS.value, known=known,
                                                    frame_mask=task_mask("predict", T, k),
                                                    labels=jnp.full((known.shape[0],), 10, jnp.int32)))
    truth = real.images[:n]
    predicted = _batched(lambda s, m: pred(state.ema_params, jax.random.fold_in(jax.random.PRNGKey(1), s),
                                           jnp.asarray(truth[s:s + m])), n, 32)
    copy_last = np.repeat(truth[:, k - 1:k], T, axis=1)
    nets = [load_feature_net(n) for n in _NETS.value]
    net = nets[0]
    crops_fake, crops_real = centre_crops(fake), centre_crops(real.images[:n])
    frame_labels = predict_labels(net, crops_fake).reshape(n, T)
    real_labels = predict_labels(net, crops_real).reshape(n, T)
    res = {"task": "video_mnist (moving_mnist_small: 1 digit, 8 frames, 32x32)", "steps": _STEPS.value,
           "batch_size": _BATCH.value, "channels": _CHANNELS.value, "train_seconds": round(train_s, 1),
           "generate_seconds": round(gen_s, 1), "num_clips": n, "sampler": f"ddim {_SAMPLE_STEPS.value} steps, CFG 2",
           "motion": motion_statistics(fake, real.images[:n]),
           "identity_generated": identity_over_time(frame_labels),
           "identity_real": identity_over_time(real_labels),
           "label_agreement_generated": float((frame_labels == labels[:, None]).mean()),
           "frame_fid_crops": bc.fid_between(net, crops_fake, crops_real),
           **{f"frame_fid_crops_{name}": bc.fid_between(other, crops_fake, crops_real)
              for name, other in zip(_NETS.value[1:], nets[1:])},
           "feature_nets": [n.name for n in nets],
           "prediction": {"context_frames": k,
                          "mse_model": float(np.mean((predicted[:, k:] - truth[:, k:]) ** 2)),
                          "mse_copy_last_frame": float(np.mean((copy_last[:, k:] - truth[:, k:]) ** 2)),
                          "given_frames_kept_exactly": bool(np.array_equal(predicted[:, :k], truth[:, :k]))}}
    save_gif(os.path.join(out, "video_generated.gif"), fake[:10], ncols=10)
    save_gif(os.path.join(out, "video_prediction.gif"), np.concatenate([truth[:8], predicted[:8]]), ncols=8)
    return res


def main(argv):
    del argv
    os.makedirs(_OUT.value, exist_ok=True)
    res = bench_sr(_OUT.value) if _TASK.value == "sr" else bench_video(_OUT.value)
    res.update(bc.run_info())
    bc.write_results(_OUT.value, f"{_TASK.value}_bench", res)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["run_dir"])
    app.run(main)
