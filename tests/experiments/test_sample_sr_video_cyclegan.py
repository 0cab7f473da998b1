"""experiments.sample on super-resolution, video and CycleGAN runs: a cascade's images equal
gen_jax.sr.cascade.cascade_sample run by hand with the same keys, --upscale conditions on the given
image at the model's low-res size, video runs write a GIF of T frames, a CycleGAN translation
equals the objective's, and each flag a family cannot use is a one-line usage error naming it."""

import importlib
import os
from pathlib import Path

import jax
import numpy as np
import pytest
from sample_driver import sample_calls  # noqa: E402  (tests/experiments/)

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
HAS_MNIST_M = (DATA / "mnist").exists() and (DATA / "cifar10_jpeg").exists()
NUM = 4




def _train(module: str, workdir: Path, **fields):
    from experiments.train import run

    c = importlib.import_module(f"experiments.configs.{module}").get_config("smoke")
    c.train.num_final_samples = 0
    for name, value in fields.items():
        section, field = name.split(".")
        c[section][field] = value
    run(c, str(workdir), progress=False)
    return workdir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny smoke runs (SR 4x4 -> 8x8 on digits, a 4x4 base, video, CycleGAN when its data is
    there) and every command of this file, in one driver process."""
    from gen_jax.data.prepared import prepare_source

    root = tmp_path_factory.mktemp("sample_sr_video_cyclegan")
    prepare_source("digits", str(root / "digits4"), resolution=4)  # the base's 4x4 digits
    one_level = {"model.channel_mult": (1,), "model.attention_resolutions": ()}
    sr = _train("sr_mnist", root / "sr", **{"data.name": "digits", "objective.lowres_size": 4}, **one_level)
    base = _train("diffusion_default", root / "base", **{"data.name": f"folder:{root / 'digits4'}"},
                  **one_level)
    video = _train("video_mnist", root / "video", **one_level)
    cyc = _train("cyclegan_mnist", root / "cyclegan", **{"data.dir": str(DATA)}) if HAS_MNIST_M else None
    low_png = root / "low.png"
    from PIL import Image

    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4) * 16).save(low_png)

    ok = {
        "cascade": [f"--workdir={sr}", f"--cascade_from={base}", "--base_sampler=ddim", "--base_steps=2",
                    "--sampler=ddim", "--steps=2", "--eta=0.5", "--aug_level=0.1", f"--num={NUM}",
                    "--out=cascade.npz"],
        "upscale": [f"--workdir={sr}", "--init-image=test:0", "--upscale", "--sampler=dpm_solver_pp_2m",
                    "--steps=2", "--num=3", "--out=upscale.npz"],
        "upscale_file": [f"--workdir={sr}", f"--init-image={low_png}", "--upscale", "--sampler=rf_euler",
                         "--steps=2", "--num=2", "--out=upscale_file.npz"],
        "video": [f"--workdir={video}", "--steps=2", "--num=3", "--out=clips.npz"],
    }
    if cyc:
        ok["cyclegan"] = [f"--workdir={cyc}", "--direction=b2a", "--num=3", "--out=translated.npz"]
    bad = [
        ([f"--workdir={sr}"], "pass --cascade_from=BASE_RUN (its samples) or --init-image=PATH --upscale"),
        ([f"--workdir={sr}", "--init-image=test:0"], "--init-image on a super-resolution run needs --upscale"),
        ([f"--workdir={sr}", "--init-image=test:0", "--upscale", "--aug_level=-1"], "--aug_level must be in [0, 1]"),
        ([f"--workdir={sr}", "--init-image=test:0", "--upscale", "--mask=left"], "--mask: a sr run does not take it"),
        ([f"--workdir={sr}", "--init-image=test:0", "--upscale", "--base_steps=2"], "--base_steps needs --cascade_from"),
        ([f"--workdir={sr}", f"--cascade_from={sr}"], "--cascade_from: the base run must be an iterative"),
        ([f"--workdir={sr}", "--init-image=test:0", "--upscale", "--sampler=rf_euler", "--eta=0.5"],
         "--eta: sampler 'rf_euler' does not take it"),
        ([f"--workdir={base}", "--aug_level=0.1"], "--aug_level needs a super-resolution run"),
        ([f"--workdir={base}", "--upscale"], "--upscale needs a super-resolution run"),
        ([f"--workdir={base}", "--direction=b2a"], "--direction needs a CycleGAN run"),
        ([f"--workdir={video}", "--cascade_from=x"], "--cascade_from needs a super-resolution run"),
        ([f"--workdir={video}", "--init-image=test:0"], "--init-image needs an iterative model; this is a video run"),
    ]
    if cyc:
        bad += [([f"--workdir={cyc}", "--sampler=ddim"], "--sampler: a cyclegan run does not take it"),
                ([f"--workdir={cyc}", "--class=1"], "--class: a cyclegan run does not take it")]
    results = sample_calls(list(ok.values()) + [[*args, "--out=bad.npz"] for args, _ in bad])
    return {"sr": sr, "base": base, "video": video, "cyclegan": cyc,
            "ok": dict(zip(ok, results)), "bad": list(zip(bad, results[len(ok):]))}


def test_cascade_equals_cascade_sample_run_by_hand(runs):
    from experiments.sampling import load_objective_and_params, sample_keys
    from gen_jax.sr.cascade import cascade_sample
    from gen_jax.utils.images import to_uint8

    assert runs["ok"]["cascade"] is None, runs["ok"]["cascade"]
    got = np.load(runs["sr"] / "cascade.npz")
    c, sr, sr_state, _ = load_objective_and_params(str(runs["sr"]))
    bc, base, base_state, _ = load_objective_and_params(str(runs["base"]))
    labels = np.arange(NUM, dtype=np.int32) % 10 if (sr.num_classes or base.num_classes) else None
    keys = sample_keys(0, 0, NUM)  # sample i: fold_in(PRNGKey(seed), i); stage s: fold_in(that, s)
    base_opts = dict(sampler="ddim", num_steps=2, eta=0.0, spacing=bc.sampler.get("spacing", "trailing"))
    sr_opts = dict(sampler="ddim", num_steps=2, eta=0.5, spacing=c.sampler.get("spacing", "trailing"),
                   aug_level=0.1)
    low, high = jax.jit(lambda bp, sp: cascade_sample(base, bp, sr, sp, keys, NUM, labels=labels,
                                                      base_options=base_opts, sr_options=sr_opts))(
        base_state.ema_params, sr_state.ema_params)
    assert got["images"].shape == (NUM, 8, 8, 1) and got["lowres"].shape == (NUM, 4, 4, 1)
    np.testing.assert_array_equal(got["lowres"], to_uint8(np.asarray(low)))
    np.testing.assert_array_equal(got["images"], to_uint8(np.asarray(high)))
    assert (runs["sr"] / "cascade.png").exists()


def test_upscale_conditions_on_the_image_at_low_res(runs):
    """test:0 is box-downsampled from 8x8 to 4x4; a 4x4 file is taken as it is."""
    from gen_jax.data import load_dataset
    from gen_jax.data.lowres import downsample
    from gen_jax.utils.images import to_uint8

    assert runs["ok"]["upscale"] is None and runs["ok"]["upscale_file"] is None, runs["ok"]
    z = np.load(runs["sr"] / "upscale.npz")
    assert z["images"].shape == (3, 8, 8, 1) and z["images"].dtype == np.uint8
    x0 = load_dataset("digits", None, "test").images[:1]
    np.testing.assert_array_equal(z["lowres"], np.repeat(to_uint8(downsample(x0, 4)), 3, axis=0))
    f = np.load(runs["sr"] / "upscale_file.npz")
    assert f["images"].shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(f["lowres"][:, :, :, 0], np.broadcast_to(np.arange(16).reshape(4, 4) * 16, (2, 4, 4)))


def test_video_run_writes_clips_and_a_gif_of_their_frames(runs):
    from PIL import Image

    assert runs["ok"]["video"] is None, runs["ok"]["video"]
    z = np.load(runs["video"] / "clips.npz")
    assert z["images"].shape == (3, 4, 16, 16, 1) and z["images"].dtype == np.uint8
    np.testing.assert_array_equal(z["labels"], np.arange(3) % 10)
    with Image.open(runs["video"] / "clips.gif") as gif:
        assert gif.n_frames == 4
    assert (runs["video"] / "clips.png").exists()


@pytest.mark.skipif(not HAS_MNIST_M, reason="needs ../shared/data/mnist and cifar10_jpeg")
def test_cyclegan_translation_equals_the_objective(runs):
    from experiments.sampling import load_objective_and_params
    from gen_jax.data import load_dataset
    from gen_jax.utils.images import to_uint8

    assert runs["ok"]["cyclegan"] is None, runs["ok"]["cyclegan"]
    z = np.load(runs["cyclegan"] / "translated.npz")
    _, obj, state, _ = load_objective_and_params(str(runs["cyclegan"]))
    b = np.asarray(load_dataset("mnist_mnistm", str(DATA), "test").images[:3])[..., 3:]
    ref = jax.jit(lambda p, x: obj.sample(p, None, images=x, direction="b2a"))(state.ema_params, b)
    np.testing.assert_array_equal(z["inputs"], to_uint8(b))
    np.testing.assert_array_equal(z["images"], to_uint8(np.asarray(ref)))


def test_flags_a_family_cannot_use_are_one_line_usage_errors(runs):
    for (args, message), err in runs["bad"]:
        assert err is not None and err.startswith("UsageError") and message in err, (args, err)
        assert "\n" not in err, err
    for wd in ("sr", "base", "video", "cyclegan"):
        assert runs[wd] is None or not (runs[wd] / "bad.npz").exists()
