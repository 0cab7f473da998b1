"""The token models measured: the VQ-VAE tokenizer (reconstruction PSNR and FID of its
reconstructions), raster-order sampling with a KV cache and MaskGIT decoding at several step
counts (FID / precision / recall / class entropy of samples, seconds per sample).

python -m experiments.bench_ar --tokenizer=runs/vqvae_mnist --ar=runs/ar_mnist \
    --maskgit=runs/maskgit_mnist --data_dir=../shared/data --num=1000 --out_dir=runs/bench_ar

The dataset is the tokenizer's (MNIST; CIFAR-10 with the configs' cifar10 variants). Samples are
class-conditional with labels i % 10, temperature 1, no top-k/top-p and guidance 1 unless set by
flags. FID etc. in the dataset's classifier feature space (gen_jax/metrics/weights:
mnist_classifier, cifar10_classifier; as experiments.bench_vae), against --num_real random
training images; "floor" is N random real test images against the same reference. Seconds per sample:
the wall time of one jitted batch of --batch_size samples after a warm-up call (compilation
excluded), divided by the batch size. --feature_nets=mnist,mnist_v1 scores the same samples in
several networks (the first gives the usual keys; every other one fid_NAME and floor_fid_NAME, as
the other benches). Writes results.json, results.md (rewritten after every row)
and a sample grid per row.
"""

from __future__ import annotations

import os
import re
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from experiments import bench_common as bc
from experiments.sampling import load_objective_and_params
from gen_jax.utils.images import save_grid, to_uint8

def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _TOK, _AR, _MASKGIT, _STEPS, _NUM, _NUM_REAL, _BATCH, _TEMP, _TOP_K, _TOP_P, _GUIDANCE
    global _DATA_DIR, _OUT, _SEED, _NETS
    _TOK = flags.DEFINE_string("tokenizer", None, "Workdir of a vqvae run.")
    _AR = flags.DEFINE_string("ar", "", "Workdir of an 'ar' run (optional).")
    _MASKGIT = flags.DEFINE_string("maskgit", "", "Workdir of a 'maskgit' run (optional).")
    _STEPS = flags.DEFINE_list("maskgit_steps", ["8", "16", "all"],
                               "MaskGIT decoding steps ('all': one per token).")
    _NUM = flags.DEFINE_integer("num", 1000, "Samples per row (and test images for the tokenizer).")
    _NUM_REAL = flags.DEFINE_integer("num_real", 10000,
                                     "Training images of the reference statistics (0: all).")
    _BATCH = flags.DEFINE_integer("batch_size", 250, "Samples per jitted call.")
    _TEMP = flags.DEFINE_float("temperature", 1.0, "Sampling temperature.")
    _TOP_K = flags.DEFINE_integer("top_k", 0, "Top-k (0: off).")
    _TOP_P = flags.DEFINE_float("top_p", 1.0, "Top-p (1: off).")
    _GUIDANCE = flags.DEFINE_float("guidance", 1.0, "Classifier-free guidance weight on logits.")
    _DATA_DIR = flags.DEFINE_string("data_dir", None, "Data directory (default: the runs' config).")
    _OUT = flags.DEFINE_string("out_dir", "runs/bench_ar", "Output directory.")
    _SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
    _NETS = flags.DEFINE_list("feature_nets", [], bc.FEATURE_NETS_HELP)


def timed_batches(fn, params, num: int, batch: int, seed: int):
    """All num samples as uint8 from fn(params, keys [B, 2], labels [B]) in batches of `batch`
    (the last padded), and the seconds per sample of one warm batch."""
    base = jax.random.PRNGKey(seed)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(num + batch))
    labels = jnp.arange(num + batch, dtype=jnp.int32) % 10
    jax.block_until_ready(fn(params, keys[:batch], labels[:batch]))  # compile
    out, sec = [], None
    for s in range(0, num, batch):
        t0 = time.perf_counter()
        x = jax.block_until_ready(fn(params, keys[s:s + batch], labels[s:s + batch]))
        sec = sec or (time.perf_counter() - t0) / batch
        out.append(to_uint8(np.asarray(x)))
    return np.concatenate(out)[:num], sec


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    os.makedirs(_OUT.value, exist_ok=True)
    c_tok, tok, tok_state, _ = load_objective_and_params(_TOK.value)
    data_dir = _DATA_DIR.value or c_tok.data.dir or None
    nets = bc.feature_nets(c_tok.data.name, _NETS.value)  # the first gives fid, precision, ...
    net = next(iter(nets.values()))
    refs, num_real = bc.references(nets, c_tok.data.name, data_dir, _NUM.value, _NUM_REAL.value)
    ref = next(iter(refs.values()))
    # a random subset: the CIFAR-10 copy is sorted by class, so its first N test images are one class
    test = bc.real_images(c_tok.data.name, data_dir, "test", _NUM.value, seed=0)
    floor = bc.fid_to(net, test, ref)
    floors = {"floor_fid": floor, **bc.extra_fids(nets, test, refs, "floor_")}
    rows = []
    opts = dict(guidance=_GUIDANCE.value, temperature=_TEMP.value, top_k=_TOP_K.value, top_p=_TOP_P.value)
    meta = {"num_real": num_real, **floors, "feature_net": net.name, "feature_nets": bc.net_names(nets),
            "seed": _SEED.value, "sampling": opts, "batch_size": _BATCH.value, **bc.run_info()}

    def write(echo: bool = False):
        """results.json and results.md of the rows so far (after every row: a run stopped by a
        time limit keeps what it measured)."""
        table = bc.markdown_table(rows, [
            ("model", "model"), ("training steps", "step"), ("decoding steps", "steps"), ("N", "num"),
            *bc.fid_columns(nets), ("precision", "precision", "{:.3f}"), ("recall", "recall", "{:.3f}"),
            ("class entropy", "class_entropy", "{:.3f}"), ("s / sample", "sec_per_sample", "{:.4f}"),
            ("PSNR (dB)", "psnr", "{:.2f}")])
        floor_text = ", ".join(f"{floors[k]:.2f} ({name})" for k, name in
                               zip(["floor_fid", *(f"floor_{k}" for k in bc.extra_fid_keys(nets))], nets))
        md = table + (f"\n\nFID floor (N real test images vs the reference): {floor_text}. Features: "
                      f"{bc.net_names(nets)}; reference: {num_real} random training images; sampling "
                      f"{opts}; batch {_BATCH.value}; hardware: {meta['hardware']}.\n")
        bc.write_results(_OUT.value, "results", {"meta": meta, "rows": rows}, md, echo=echo)

    def add(name, images, extra):
        m = {**bc.scores(net, images, ref), **bc.extra_fids(nets, images, refs)}
        rows.append({"model": name, "num": len(images), **extra, **m})
        slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        save_grid(os.path.join(_OUT.value, f"{slug}.png"), images[:100], ncols=10)
        print(f"{name}: FID {m['fid']:.2f} precision {m['precision']:.3f} recall {m['recall']:.3f} {extra}")
        write()

    # the tokenizer: reconstructions of test images, and independent tokens from its code usage
    p = tok_state.ema_params
    rec_fn = jax.jit(tok.reconstruct)
    rec = np.concatenate([np.asarray(rec_fn(p, test[s:s + 500])) for s in range(0, len(test), 500)])
    mse = np.mean((rec - test) ** 2, axis=(1, 2, 3))
    codes = np.asarray(jax.jit(tok.encode_tokens)(p, test[:500]))
    hist = np.bincount(codes.ravel(), minlength=tok.num_codes) / codes.size
    ppl = float(np.exp(-np.sum(hist[hist > 0] * np.log(hist[hist > 0]))))
    add("tokenizer reconstructions", to_uint8(rec),
        {"psnr": float(np.mean(10 * np.log10(4.0 / np.maximum(mse, 1e-12)))),
         "codes_used": int(np.sum(hist > 0)), "num_codes": tok.num_codes, "perplexity": ppl,
         "step": int(tok_state.step)})
    fn = jax.jit(lambda prm, k, lab: tok.sample(prm, k))
    images, sec = timed_batches(fn, p, _NUM.value, _BATCH.value, _SEED.value)
    add("unigram tokens", images, {"sec_per_sample": sec, "step": int(tok_state.step)})

    if _AR.value:
        _, obj, state, _ = load_objective_and_params(_AR.value)
        lab = lambda labels: labels if obj.num_classes else None  # noqa: E731
        fn = jax.jit(lambda prm, k, labels: obj.sample(prm, k, labels=lab(labels), **opts))
        images, sec = timed_batches(fn, state.ema_params, _NUM.value, _BATCH.value, _SEED.value)
        add("raster AR (KV cache)", images, {"steps": obj.model.seq_len, "sec_per_sample": sec,
                                             "step": int(state.step)})
    if _MASKGIT.value:
        _, obj, state, _ = load_objective_and_params(_MASKGIT.value)
        lab = lambda labels: labels if obj.num_classes else None  # noqa: E731
        for s in _STEPS.value:
            n = obj.model.seq_len if s == "all" else int(s)
            fn = jax.jit(lambda prm, k, labels, n=n: obj.sample(prm, k, labels=lab(labels), num_steps=n, **opts))
            images, sec = timed_batches(fn, state.ema_params, _NUM.value, _BATCH.value, _SEED.value)
            add(f"MaskGIT {n} steps", images, {"steps": n, "sec_per_sample": sec, "step": int(state.step)})

    write(echo=True)


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["tokenizer"])
    app.run(main)
