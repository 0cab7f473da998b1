"""End-to-end text-to-image: a :smoke text config trains through experiments.main, and
experiments.sample takes --prompt with the run's vocabulary."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import build
from experiments.workdir import load_run_info, save_run_info
from experiments.configs import default, text_to_image

REPO = Path(__file__).resolve().parents[2]


def _run(args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=900)


def test_text_smoke_trains_and_samples_from_a_prompt(tmp_path):
    from experiments.train import run

    wd = tmp_path / "text"
    state = run(text_to_image.get_config("smoke"), str(wd), progress=False)
    assert int(state.step) == 2
    info = json.loads((wd / "run.json").read_text())
    vocab = info["config"]["text"]["vocab"]
    assert {"a", "image", "3", "7"} <= set(vocab)  # fitted from the digits' captions, saved
    r = _run(["experiments.sample", f"--workdir={wd}", "--prompt", "a 3", "--prompt", "a zebra",
              "--guidance", "4", "--steps=3", "--num=4", "--out=p.npz"])
    assert r.returncode == 0, r.stderr[-3000:]
    assert "'zebra'" in r.stderr and "<unk>" in r.stderr  # the unknown-word warning
    z = np.load(wd / "p.npz")
    assert z["images"].shape == (4, 8, 8, 1)
    assert list(z["prompts"]) == ["a 3", "a zebra", "a 3", "a zebra"]
    tok = build.text_tokenizer(load_run_info(str(wd))[0])
    np.testing.assert_array_equal(z["tokens"], tok.encode(list(z["prompts"])))


def test_prompt_on_a_run_without_text_encoder_is_a_clear_error(tmp_path):
    save_run_info(str(tmp_path), default.get_config("smoke"), (8, 8, 1), 10)
    r = _run(["experiments.sample", f"--workdir={tmp_path}", "--prompt", "a cat"])
    assert r.returncode != 0
    assert "--prompt needs a text-to-image run" in r.stderr and "'ddpm'" in r.stderr


@pytest.mark.parametrize("field,value", [("text.max_len", 1), ("text.width", 15),
                                         ("model.class_conditional", True)])
def test_bad_text_fields_are_named(field, value):
    c = text_to_image.get_config("smoke")
    section, key = field.split(".")
    c[section][key] = value
    with pytest.raises(ValueError, match=f"config.{field}"):
        build.validate(c)


def _emoji_files(root, codepoints, colours):
    """A fake noto_emoji64.npz: one opaque 64x64 emoji of a plain colour per codepoint."""
    (root / "noto_emoji").mkdir()
    rgba = np.zeros((len(codepoints), 64, 64, 4), np.uint8)
    rgba[..., :3] = np.asarray(colours, np.uint8)[:, None, None]
    rgba[..., 3] = 255
    np.savez(root / "noto_emoji" / "noto_emoji64.npz", images_rgba=rgba,
             category=np.zeros(len(codepoints), np.uint8), category_names=np.array(["a"]),
             is_skin_tone_variant=np.zeros(len(codepoints), bool), codepoints=np.array(codepoints))


@pytest.mark.parametrize("dataset", ["emoji", "emoji32"])
def test_emoji_retrieval_judge_finds_the_prompted_emoji(tmp_path, dataset):
    from gen_jax.data import load_dataset
    from gen_jax.metrics.retrieval import RetrievalJudge

    _emoji_files(tmp_path, ["1f34e", "1f600", "1f680", "1f436"],
                 [(220, 30, 30), (250, 200, 40), (60, 60, 200), (150, 100, 60)])
    prompts = ["rocket", "red apple", "grinning face"]
    judge = RetrievalJudge(dataset, str(tmp_path), prompts)
    images = load_dataset(dataset, str(tmp_path)).images  # apple, face, rocket, dog
    rng = np.random.default_rng(0)
    noisy = np.clip(images + 0.3 * rng.standard_normal(images.shape), -1, 1).astype(np.float32)
    np.testing.assert_array_equal(judge.predict(noisy[:3]), [1, 2, 0])  # indices into prompts
    np.testing.assert_array_equal(judge.predict(((images[:3] + 1) * 127.5).round().astype(np.uint8)),
                                  [1, 2, 0])  # uint8 samples too
    with pytest.raises(ValueError, match="'zebra'"):
        RetrievalJudge(dataset, str(tmp_path), ["red apple", "zebra"])


def test_emoji32_variant_is_valid_and_names_32x32_emoji():
    c = text_to_image.get_config("emoji32")
    build.validate(c)
    assert c.data.name == "emoji32" and "red apple" in c.text.preview_prompts
    assert text_to_image.get_config("emoji32_smoke").data.name == "digits"
    with pytest.raises(ValueError, match="emoji32"):
        text_to_image.get_config("emoji16")


def test_digit_judge_takes_another_mnist_feature_net_and_refuses_one_of_another_size():
    from absl import app

    from experiments.bench_text import Judge

    digits = np.random.default_rng(0).integers(0, 17, (6, 8, 8, 1)).astype(np.uint8) * 15
    default, v1 = Judge("digits"), Judge("digits", "mnist_v1")
    assert default.net.name.startswith("mnist_classifier") and v1.net.name.startswith("mnist_v1")
    assert "resized to MNIST" in v1.name and v1.template == "a {}"
    # Same images and labels space, different features.
    assert default.predict(digits).shape == v1.predict(digits).shape == (6,)
    assert v1.net.feature_dim != default.net.feature_dim
    with pytest.raises(app.UsageError, match="--judge_net: 'cifar10' takes"):
        Judge("digits", "cifar10")
