"""Prompt adherence of a text-to-image run over a table of guidance scales (CIFAR-10, digits or emoji).

python -m experiments.bench_text --workdir=runs/text_cifar10 --guidance=0,1,2,4,8 --per_class=50 \
    --data_dir=../shared/data --out_dir=docs/text_to_image

For every guidance scale w: per_class samples of each class prompt (CIFAR-10: "a photo of a
{class}", digits: "a {digit}"; the same noise for every w: sample i uses key fold_in(seed, i));
prompt adherence = the fraction a feature classifier from gen_jax/metrics/weights assigns to the
prompted class, overall and per class. The judge: CIFAR-10's classifier (test accuracy 75 %: the
ceiling) for cifar10 runs; for the 8x8 digits, the MNIST classifier on digits resized to 20x20 and
centred in 28x28 (as notebooks/gans.ipynb does). FID of the samples against num_real real test
images in the same classifier's feature space (not Inception: not comparable with published FIDs,
and biased upward at small sample counts). The sampler compiles once for the whole sweep (w is a runtime value).

Emoji (emoji, emoji32) have no classifier: the prompts are K emoji names (--prompts, default the
run's text.preview_prompts, e.g. "red apple", "rocket"), and a sample adheres when, of the K
prompted emoji, the nearest to it (Euclidean distance of RGB images box-downsampled to 16x16) is its
own prompt's; chance is 1/K. No FID for emoji.

python -m experiments.bench_text --workdir=runs/text_emoji32 --guidance=0,1,2,4,8 --per_class=20 \
    --data_dir=../shared/data --out_dir=OUT
Writes bench_text.json, bench_text.md and a grid bench_text.png (rows: classes; columns: the first
samples of each class at each w) in --out_dir.
"""

from __future__ import annotations

import os
import time

import jax
import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments import sampling as sample_lib
from gen_jax.data import load_dataset
from gen_jax.metrics.feature_nets import feature_stats, load_feature_net, predict_labels
from gen_jax.metrics.frechet import frechet_distance
from gen_jax.metrics.retrieval import RetrievalJudge
from gen_jax.utils.images import save_grid

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _WORKDIR, _GUIDANCE, _PER_CLASS, _TEMPLATE, _STEPS, _SAMPLER, _SEED, _BATCH, _NUM_REAL
    global _GRID_COLS, _DATA_DIR, _PROMPTS, _OUT, _JUDGE_NET
    _WORKDIR = flags.DEFINE_string("workdir", None, "Trained text-to-image CIFAR-10 workdir.")
    _GUIDANCE = flags.DEFINE_list("guidance", ["0", "1", "2", "4", "8"], "CFG scales w.")
    _PER_CLASS = flags.DEFINE_integer("per_class", 50, "Samples per class prompt and scale.")
    _TEMPLATE = flags.DEFINE_string("template", None, "Prompt template (default: 'a photo of a {}' for "
                                     "cifar10, 'a {}' for digits).")
    _STEPS = flags.DEFINE_integer("steps", None, "Sampler steps (default: the run's sampler.num_steps).")
    _SAMPLER = flags.DEFINE_string("sampler", None, "Sampler (default: the run's sampler.name).")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
    _BATCH = flags.DEFINE_integer("batch_size", 250, "Samples per device call.")
    _NUM_REAL = flags.DEFINE_integer("num_real", 2000, "CIFAR-10 test images for the FID reference.")
    _GRID_COLS = flags.DEFINE_integer("grid_cols", 2, "Samples per class and scale in the grid.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the run's config).")
    _PROMPTS = flags.DEFINE_multi_string("prompts", None, "Emoji runs: the emoji names to prompt "
                                         "(default: the run's text.preview_prompts).")
    _OUT = flags.DEFINE_string("out_dir", None, "Output directory (default WORKDIR/bench_text).")
    _JUDGE_NET = flags.DEFINE_string("judge_net", None, "Feature network of the judge and the FID "
                                     "(default: the dataset's; e.g. mnist_v1 or mnist_penultimate "
                                     "for the digits).")


def as_mnist(images):
    """8x8 digits [N, 8, 8, 1] (uint8 or [-1, 1]) -> [N, 28, 28, 1] in [-1, 1]: resized to 20x20
    (nearest) and centred, as MNIST digits are, for the MNIST classifier."""
    x = np.asarray(images)
    x = x.astype(np.float32) / 127.5 - 1.0 if x.dtype == np.uint8 else x.astype(np.float32)
    y = jax.image.resize(x, (len(x), 20, 20, x.shape[-1]), "nearest")
    return np.asarray(np.pad(np.asarray(y), ((0, 0), (4, 4), (4, 4), (0, 0)), constant_values=-1.0))


class Judge:
    """A feature classifier of gen_jax/metrics/weights with the map from the run's images to its inputs."""

    def __init__(self, dataset: str, net_name: str | None = None):
        """net_name: another feature network of the judge's image size (e.g. 'mnist_v1' for the
        digits) in place of the dataset's default."""
        if dataset not in JUDGES:
            raise app.UsageError(f"--workdir: no judge for dataset {dataset!r}; expected one of {sorted(JUDGES)}")
        default, self.transform, self.template = JUDGES[dataset]
        net_name = net_name or default
        self.net = load_feature_net(net_name)
        want = load_feature_net(default).image_shape if net_name != default else self.net.image_shape
        if self.net.image_shape != want:
            raise app.UsageError(f"--judge_net: {net_name!r} takes {self.net.image_shape} images; the "
                                 f"{dataset} judge feeds it {want}")
        self.name = self.net.name + ("" if default == dataset else " on digits resized to MNIST's 28x28")

    def predict(self, images):
        return predict_labels(self.net, self.transform(images))

    def stats(self, images):
        return feature_stats(self.net, self.transform(images))


JUDGES = {"cifar10": ("cifar10", lambda x: x, "a photo of a {}"), "digits": ("mnist", as_mnist, "a {}")}
RETRIEVAL_DATASETS = ("emoji", "emoji32")  # judged by gen_jax.metrics.retrieval.RetrievalJudge


def adherence_table(objective, params, net, class_names, guidances, per_class, *, template, sampler,
                    steps, seed=0, batch_size=250, real_stats=None, progress=True):
    """Rows {guidance, adherence, per_class, fid, seconds} and the samples [len(w), N, H, W, C].
    net: a Judge."""
    k = len(class_names)
    prompts = [template.format(class_names[i % k]) for i in range(per_class * k)]
    target = np.arange(per_class * k) % k
    tokens = objective.tokenizer.encode(prompts)
    fn = sample_lib.sampler_fn(objective, sampler, conditional=True)
    rows, samples = [], []
    for w in guidances:
        t0 = time.perf_counter()
        images = sample_lib.generate(objective, params, num=len(prompts), seed=seed, sampler=sampler,
                                     num_steps=steps, labels=tokens, guidance=float(w),
                                     batch_size=batch_size, fn=fn, progress=progress)
        seconds = time.perf_counter() - t0
        pred = net.predict(images)
        row = {"guidance": float(w), "adherence": float(np.mean(pred == target)),
               "per_class": {class_names[c]: float(np.mean(pred[target == c] == c)) for c in range(k)},
               "predicted_histogram": np.bincount(pred, minlength=k).tolist(), "seconds": seconds}
        if real_stats is not None:
            mu, sigma, _ = net.stats(images)
            row["fid"] = float(frechet_distance(mu, sigma, *real_stats))
        rows.append(row)
        samples.append(images)
        if progress:
            print(f"w={w}: adherence {row['adherence']:.3f}" +
                  (f", FID {row['fid']:.2f}" if "fid" in row else "") + f" ({seconds:.0f} s)")
    return rows, np.stack(samples)


def markdown(info, rows, class_names) -> str:
    fid = (f"FID in the same classifier's feature space against {info['num_real']} test images"
           if info["num_real"] else "no FID (no feature network for this dataset)")
    real = "real test images" if info["num_real"] else "the prompted emoji themselves"
    lines = [f"Prompt adherence on {info['dataset']}: `{info['command']}`", "",
             f"{info['num_per_scale']} samples per scale ({info['per_class']} per prompt "
             f"\"{info['template']}\"), {info['sampler']} {info['steps']} steps; judge: "
             f"{info['judge']}; {fid}; hardware: {info['hardware']}.", "",
             bc.markdown_table(rows, [("guidance w", "guidance", "{:g}"), ("adherence", "adherence", "{:.3f}"),
                                      ("FID", "fid", "{:.2f}")] + [
                 (c, lambda r, c=c: r["per_class"][c], "{:.2f}") for c in class_names])]
    lines += ["", f"Chance: {1 / len(class_names):.3f}; the judge's accuracy on {real}: "
              f"{info['judge_accuracy']:.3f}."]
    return "\n".join(lines) + "\n"


def grid_order(samples, k: int, cols: int):
    """samples [S, N, H, W, C] (sample i has class i % k) -> rows = classes, columns = the first
    `cols` samples of that class at each scale: [k·S·cols, H, W, C]."""
    s = samples.shape[0]
    out = [samples[j, c + k * m] for c in range(k) for j in range(s) for m in range(cols)]
    return np.stack(out), s * cols


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    workdir = _WORKDIR.value
    c, objective, state, class_names = sample_lib.load_objective_and_params(workdir)
    if getattr(objective, "tokenizer", None) is None:
        raise app.UsageError(f"--workdir: {workdir} is not a text-to-image run (objective.name "
                             f"{c.objective.name!r}); train experiments/configs/text_to_image.py")
    data_dir = _DATA_DIR.value or c.data.dir or None
    if c.data.name in RETRIEVAL_DATASETS:
        class_names = list(_PROMPTS.value or c.text.preview_prompts)
        try:
            judge = RetrievalJudge(c.data.name, data_dir, class_names)
        except ValueError as e:
            raise app.UsageError(f"--prompts: {e}") from e
        real_stats, idx = None, []
        judge_acc = float(np.mean(judge.predict(judge.images) == np.arange(len(class_names))))
    else:
        judge = Judge(c.data.name, _JUDGE_NET.value)
        class_names = [n.lower() for n in class_names]
        test = load_dataset(c.data.name, data_dir, "test")
        idx = np.sort(np.random.default_rng(_SEED.value).choice(
            len(test.images), min(_NUM_REAL.value, len(test.images)), replace=False))
        real_mu, real_sigma, _ = judge.stats(test.images[idx])
        real_stats = (real_mu, real_sigma)
        judge_acc = float(np.mean(judge.predict(test.images[idx]) == test.labels[idx]))
    template = _TEMPLATE.value or judge.template
    flow = objective.native_view == "rf"
    sampler = _SAMPLER.value or c.sampler.name
    steps = _STEPS.value or c.sampler.num_steps
    ws = [float(w) for w in _GUIDANCE.value]
    rows, samples = adherence_table(objective, state.ema_params, judge, class_names, ws, _PER_CLASS.value,
                                    template=template, sampler=sampler, steps=steps,
                                    seed=_SEED.value, batch_size=_BATCH.value,
                                    real_stats=real_stats)
    out_dir = _OUT.value or os.path.join(workdir, "bench_text")
    os.makedirs(out_dir, exist_ok=True)
    info = {"workdir_config": {"objective": c.objective.name, "model": c.model.name,
                               "train_steps": c.train.steps, "batch_size": c.train.batch_size},
            "per_class": _PER_CLASS.value, "num_per_scale": _PER_CLASS.value * len(class_names),
            "template": template, "dataset": c.data.name, "sampler": sampler + (" (rectified flow)" if flow else ""),
            "steps": steps, "num_real": len(idx), "judge": judge.name,
            "judge_accuracy": judge_acc, **bc.run_info()}
    bc.write_results(out_dir, "bench_text", {"info": info, "rows": rows},
                     markdown(info, rows, class_names), echo=True)
    tiles, ncols = grid_order(samples, len(class_names), min(_GRID_COLS.value, _PER_CLASS.value))
    save_grid(os.path.join(out_dir, "bench_text.png"), tiles, ncols=ncols)
    print(f"wrote {out_dir}/bench_text.{{json,md,png}}")


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["workdir"])
    app.run(main)
