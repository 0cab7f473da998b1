"""Captions from the data: CIFAR-10 class names in templates, emoji Unicode names; batch extras."""

import numpy as np

from gen_jax.data import load_dataset
from gen_jax.data.captions import (CIFAR10_TEMPLATES, class_captions, dataset_captions,
                                   emoji_caption)
from gen_jax.data.pipeline import EpochSampler, batch_at


def test_emoji_captions_are_unicode_names():
    assert emoji_caption("1f34e") == "red apple"
    assert emoji_caption("1f600") == "grinning face"
    assert emoji_caption("1f1fa-1f1f8") == "flag u s"  # regional indicators U, S
    assert emoji_caption("1f44d-1f3fd") == "thumbs up sign medium skin tone"
    assert emoji_caption("1f469-200d-1f680") == "woman rocket"  # the ZWJ is silent
    assert emoji_caption("0031-fe0f-20e3") == "digit one keycap"


def test_class_captions_name_the_class_with_every_template_and_are_deterministic():
    labels = np.arange(2000) % 10
    names = [f"class{k}" for k in range(10)]
    caps = class_captions(labels, names, CIFAR10_TEMPLATES, seed=0)
    assert all(c.split()[-1] == names[y] for c, y in zip(caps, labels))
    used = {c.replace(names[y], "{}") for c, y in zip(caps, labels)}
    assert used == set(CIFAR10_TEMPLATES)
    assert caps == class_captions(labels, names, CIFAR10_TEMPLATES, seed=0)
    assert caps != class_captions(labels, names, CIFAR10_TEMPLATES, seed=1)


def test_emoji_dataset_captions_follow_the_split(tmp_path):
    (tmp_path / "noto_emoji").mkdir()
    cps = ["1f34e", "1f600", "1f1fa-1f1f8"] * 4
    np.savez(tmp_path / "noto_emoji" / "noto_emoji64.npz",
             images_rgba=np.zeros((12, 64, 64, 4), np.uint8), category=np.zeros(12, np.uint8),
             category_names=np.array(["a"]), is_skin_tone_variant=np.zeros(12, bool),
             codepoints=np.array(cps))
    for split in ("train", "test"):
        ds = load_dataset("emoji", str(tmp_path), split)
        caps = dataset_captions(ds, str(tmp_path), split)
        assert caps == [emoji_caption(c) for c in (cps if split == "train" else cps[::10])]
        small = load_dataset("emoji32", str(tmp_path), split)
        assert dataset_captions(small, str(tmp_path), split) == caps


def test_batch_extras_are_rows_of_the_same_examples():
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    tokens = np.arange(10)[:, None] * np.ones((1, 4), np.int32)
    sampler = EpochSampler(10, 4, seed=3)
    for step in range(5):
        b = batch_at(images, None, sampler, step, extras={"tokens": tokens})
        np.testing.assert_array_equal(b["tokens"][:, 0], b["image"][:, 0, 0, 0])
        assert set(b) == {"image", "tokens"}
