"""Input-pipeline benchmark: grain throughput, time to first batch, host memory vs dataset size.

python -m experiments.bench_data --out_dir=docs/data --work_dir=/tmp/gen_jax_bench_data

1. Throughput: a synthetic prepared set (random uint8 RGB, --throughput_images images) at each of
   --resolutions, read through gen_jax.data.stream with random flip, --batch_size per batch, for
   each number of grain worker processes in --workers (0: threads in the training process). Images/s
   over --batches batches after the first; time to first batch = open + start + first batch.
2. Memory: peak RSS of a child process training a tiny U-Net (--rss_steps steps) on synthetic
   prepared sets of each of --rss_sizes images at --rss_resolution, streamed (folder:PATH path) and,
   for contrast, loaded whole into host memory (the registry path).
Synthetic sets are written straight to shards (not PNG folders: decoding files is prepare_data's
cost, paid once). Writes results.json and results.md under --out_dir. Not a test: timings depend on
the machine and on its load.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

from experiments import bench_common as bc

# What a train step consumes on an accelerator, for the gap (the figure the issue cites: the DDPM
# CIFAR-10 U-Net, 35.7 M parameters, on a TPU v3-8).
TPU_IMAGES_PER_SEC = 2690.0

F = flags.FLAGS


def synthetic(work_dir: str, n: int, res: int, channels: int = 3) -> str:
    """A prepared set of n random images (cached in work_dir by size)."""
    from gen_jax.data import prepared

    path = os.path.join(work_dir, f"synthetic_{n}_{res}x{res}x{channels}")
    if prepared.is_prepared(path):
        return path
    rng = np.random.default_rng(n)

    def images():
        for s in range(0, n, 4096):
            yield from rng.integers(0, 256, (min(4096, n - s), res, res, channels), dtype=np.uint8)

    labels = (np.arange(n) % 10).astype(np.int32)
    prepared.write_prepared(path, images(), (res, res, channels), name="synthetic", labels=labels,
                            class_names=tuple(str(i) for i in range(10)), count=n,
                            num_shards=max(1, n // 50000), overwrite=True)
    return path


def throughput(path: str, workers: int, batch_size: int, batches: int) -> dict:
    from gen_jax.data.stream import open_prepared  # imported before the clock starts (grain, jax)

    t0 = time.perf_counter()
    ds = open_prepared(path, flip=True, workers=workers, threads=F.threads, prefetch=F.prefetch)
    it = ds.images.batches(batch_size, 0, slice(None), 0, batches + 1)
    first = next(it)
    t1 = time.perf_counter()
    n = 0
    for b in it:
        n += len(b["image"])
    t2 = time.perf_counter()
    del it
    return {"resolution": int(first["image"].shape[1]), "workers": workers, "threads": F.threads,
            "batch_size": batch_size, "batches": batches, "first_batch_s": round(t1 - t0, 3),
            "images_per_s": round(n / (t2 - t1), 1)}


def rss_child(kind: str, path: str, steps: int) -> None:
    """Train a tiny U-Net on `path` for `steps` steps; print {"peak_rss_mb"} (the whole process:
    JAX, the compiled step, the data path)."""
    import jax

    from gen_jax.data import prepared
    from gen_jax.data.stream import open_prepared
    from gen_jax.diffusion.objective import DiffusionObjective
    from gen_jax.diffusion.schedules import make_schedule
    from gen_jax.nn.unet import UNet
    from gen_jax.train.loop import train
    from gen_jax.train.state import make_optimizer

    if kind == "stream":
        ds = open_prepared(path, flip=True, threads=F.threads, prefetch=F.prefetch)
        images, labels, shape = ds.images, ds.labels, ds.images.shape[1:]
    else:
        u8, labels, meta = prepared.read_all(path)
        images, shape = u8.astype(np.float32) / 127.5 - 1.0, meta.shape
        del u8
    tx, sched = make_optimizer(1e-3, warmup_steps=2)
    model = UNet(channels=8, channel_mult=(1,), num_res_blocks=1, attention_resolutions=(), num_heads=1)
    obj = DiffusionObjective(model=model, schedule=make_schedule("linear", 100), image_shape=tuple(shape),
                             tx=tx, lr_schedule=sched, num_classes=None, cond_drop_prob=0.0, ema_decay=0.9)
    import tempfile

    with tempfile.TemporaryDirectory() as wd:
        train(obj, images, None, workdir=wd, num_steps=steps, batch_size=F.batch_size, ckpt_every=0,
              progress=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"peak_rss_mb": round(peak, 1), "device": str(jax.devices()[0].platform)}))


def memory_rows(work_dir: str) -> list[dict]:
    rows = []
    for n in F.rss_sizes:
        path = synthetic(work_dir, int(n), F.rss_resolution)
        for kind in ("stream", "memory"):
            cmd = [sys.executable, "-m", "experiments.bench_data", f"--rss_child={kind}:{path}",
                   f"--rss_steps={F.rss_steps}", f"--batch_size={F.batch_size}",
                   f"--threads={F.threads}", f"--prefetch={F.prefetch}"]
            # XLA's lowest optimisation level: the child measures memory, not step speed
            env = dict(os.environ, XLA_FLAGS="--xla_backend_optimization_level=0")
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if r.returncode:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
            res = json.loads(r.stdout.strip().splitlines()[-1])
            row = {"images": int(n), "resolution": F.rss_resolution, "path": kind,
                   "float32_dataset_mb": round(int(n) * F.rss_resolution ** 2 * 3 * 4 / 2 ** 20, 1), **res}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def markdown(result: dict) -> str:
    lines = [f"Input pipeline on {result['host']} (load average {result['load_avg']} at start); "
             f"command: `{result['command']}`.", "",
             bc.markdown_table(result["throughput"], [
                 ("resolution", "resolution", "{0}x{0}"), ("grain workers", "workers"),
                 ("threads", "threads"), ("batch", "batch_size"),
                 ("time to first batch (s)", "first_batch_s"), ("images/s", "images_per_s")])]
    if result["throughput"]:
        best = {}
        for r in result["throughput"]:
            best[r["resolution"]] = max(best.get(r["resolution"], 0), r["images_per_s"])
        lines += ["", f"A TPU v3-8 train step of the DDPM CIFAR-10 U-Net consumes about "
                      f"{TPU_IMAGES_PER_SEC:.0f} images/s; host cores to feed it at the rates above "
                      f"(the best row, counted as {result['cores']} cores' worth):"]
        for res, ips in sorted(best.items()):
            per_core = ips / result["cores"]
            lines.append(f"- {res}x{res}: {ips:.0f} images/s here ({100 * ips / TPU_IMAGES_PER_SEC:.0f}% "
                         f"of what that step consumes); at {per_core:.0f} images/s per core, "
                         f"{int(np.ceil(TPU_IMAGES_PER_SEC / per_core))} host core(s) would keep up")
    if result["memory"]:
        lines += ["", f"Peak RSS of a process training a tiny U-Net for {result['rss_steps']} steps "
                      f"(batch {result['batch_size']}):", "",
                  bc.markdown_table(result["memory"], [
                      ("images", "images"), ("resolution", "resolution", "{0}x{0}"), ("path", "path"),
                      ("float32 set (MB)", "float32_dataset_mb"), ("peak RSS (MB)", "peak_rss_mb")])]
        for kind in ("stream", "memory"):
            rs = [r for r in result["memory"] if r["path"] == kind]
            if len(rs) >= 2:
                lines.append(f"\n{kind}: peak RSS at {rs[-1]['images']} images is "
                             f"{rs[-1]['peak_rss_mb'] / rs[0]['peak_rss_mb']:.3f}x that at {rs[0]['images']}.")
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    if F.rss_child:
        kind, path = F.rss_child.split(":", 1)
        rss_child(kind, path, F.rss_steps)
        return
    os.makedirs(F.work_dir, exist_ok=True)
    result = {"host": f"{os.cpu_count()} CPU cores", "cores": os.cpu_count(),
              "load_avg": round(os.getloadavg()[0], 2),
              "batch_size": F.batch_size, "rss_steps": F.rss_steps, "throughput": [], "memory": []}
    for res in F.resolutions:
        path = synthetic(F.work_dir, F.throughput_images, int(res))
        for w in F.workers:
            row = throughput(path, int(w), F.batch_size, F.batches)
            print(json.dumps(row), flush=True)
            result["throughput"].append(row)
    if F.rss_sizes:
        result["memory"] = memory_rows(F.work_dir)
    result.update(bc.run_info())
    bc.write_results(F.out_dir, "bench_data", result, markdown(result), echo=True)


if __name__ == "__main__":
    flags.DEFINE_string("out_dir", "runs/bench_data", "Where bench_data.{json,md} go.")
    flags.DEFINE_string("work_dir", "/tmp/gen_jax_bench_data", "Where the synthetic sets are written (kept).")
    flags.DEFINE_list("resolutions", ["32", "64"], "Throughput rows: image sides.")
    flags.DEFINE_list("workers", ["0", "2"], "Throughput rows: grain worker processes.")
    flags.DEFINE_integer("throughput_images", 8192, "Images in each throughput set.")
    flags.DEFINE_integer("batches", 40, "Timed batches per throughput row (after the first).")
    flags.DEFINE_integer("batch_size", 128, "Global batch.")
    flags.DEFINE_integer("threads", 2, "grain reader threads (data.threads).")
    flags.DEFINE_integer("prefetch", 4, "Batches read ahead (data.prefetch).")
    flags.DEFINE_list("rss_sizes", ["20000", "200000"], "Memory rows: dataset sizes ('' to skip).")
    flags.DEFINE_integer("rss_resolution", 16, "Memory rows: image side (RGB).")
    flags.DEFINE_integer("rss_steps", 20, "Memory rows: timed train steps.")
    flags.DEFINE_string("rss_child", "", "Internal: KIND:PATH, run one memory row in this process.")
    app.run(main)
