"""The grain pipeline over prepared shards: the in-memory path's batches, per-process rows of the
same global batch, resumable at any step, flip/crop a function of (seed, step, example); training
from --config.data.name=folder:PATH resumes exactly."""

import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from gen_jax.data import load_dataset, prepared
from gen_jax.data.pipeline import batch_iterator
from gen_jax.data.stream import Augment, augment, open_prepared

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from helpers import digits  # noqa: E402


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """(dir, uint8 [37, 6, 6, 3], labels [37]) in 3 shards (37: epochs end mid-batch)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (37, 6, 6, 3), dtype=np.uint8)
    y = rng.integers(0, 4, 37).astype(np.int32)
    d = str(tmp_path_factory.mktemp("p") / "set")
    prepared.write_prepared(d, list(x), (6, 6, 3), name="t", labels=y, class_names=tuple("abcd"),
                            num_shards=3)
    return d, x, y


def test_streamed_batches_equal_the_in_memory_batches(stored):
    d, x, y = stored
    ds = open_prepared(d)
    assert ds.images.shape == (37, 6, 6, 3) and ds.num_classes == 4 and ds.class_names == tuple("abcd")
    ref = batch_iterator(x.astype(np.float32) / 127.5 - 1.0, y, 8, 5, slice(None), 0, 12)
    got = batch_iterator(ds.images, ds.labels, 8, 5, slice(None), 0, 12)  # 96 examples: 2.6 epochs
    for step, (a, b) in enumerate(zip(got, ref)):
        np.testing.assert_array_equal(a["image"], b["image"], err_msg=f"step {step}")
        np.testing.assert_array_equal(a["label"], b["label"])
        assert a["image"].dtype == np.float32 and a["label"].dtype == np.int32
    np.testing.assert_array_equal(ds.images[[3, 1]], x[[3, 1]].astype(np.float32) / 127.5 - 1.0)
    by_name = load_dataset(f"folder:{d}")  # the registry's name for it (no augmentation)
    np.testing.assert_array_equal(by_name.images[:], x.astype(np.float32) / 127.5 - 1.0)
    with pytest.raises(ValueError, match=r"extras \(\['noise'\]\) need in-memory images"):
        batch_iterator(ds.images, None, 8, 0, slice(None), 0, 1, extras={"noise": x})


def test_process_rows_and_resumed_iterators_give_the_same_global_batches(stored):
    d, _, _ = stored
    ds = open_prepared(d, flip=True, crop=4)
    full = list(ds.images.batches(8, 1, slice(None), 0, 6, with_labels=False))
    halves = [list(ds.images.batches(8, 1, slice(p * 4, p * 4 + 4), 0, 6)) for p in range(2)]
    for s in range(6):  # 2 processes' rows concatenate to the 1-process batch, augmentation included
        np.testing.assert_array_equal(np.concatenate([h[s]["image"] for h in halves]), full[s]["image"])
    resumed = list(open_prepared(d, flip=True, crop=4).images.batches(8, 1, slice(None), 4, 6))
    for a, b in zip(resumed, full[4:]):  # a fresh pipeline started at step 4
        np.testing.assert_array_equal(a["image"], b["image"])


def test_flip_and_crop_are_a_function_of_seed_step_and_example(stored):
    d, x, _ = stored
    ds = open_prepared(d, flip=True, crop=4)
    assert ds.images.shape == (37, 4, 4, 3) and ds.images[0].shape == (4, 4, 3)  # centre crop for eval
    np.testing.assert_array_equal(ds.images.uint8(0), x[0])
    batches = list(ds.images.batches(8, 2, slice(None), 0, 10, with_labels=False))
    plain = list(open_prepared(d).images.dataset(8, 2, with_labels=False)[0:10])
    offsets, flips = set(), 0
    for step in range(10):
        for row in range(8):
            got = batches[step]["image"][row]
            src = np.round((plain[step]["image"][row] + 1) * 127.5).astype(np.uint8)  # stored pixels
            want = augment(src, Augment(True, 4), seed=2, position=step * 8 + row)
            np.testing.assert_array_equal(got, want.astype(np.float32) / 127.5 - 1.0)
            views = {(t, l, f): src[t:t + 4, l:l + 4][:, ::-1 if f else 1]
                     for t in range(3) for l in range(3) for f in (0, 1)}
            (key,) = [k for k, v in views.items() if np.array_equal(v, want)]  # a crop (+ flip) of src
            offsets.add(key[:2])
            flips += key[2]
    assert len(offsets) == 9 and 20 < flips < 60  # every offset drawn; about half flipped
    again = list(open_prepared(d, flip=True, crop=4).images.batches(8, 2, slice(None), 0, 10, False))
    other = list(open_prepared(d, flip=True, crop=4).images.batches(8, 3, slice(None), 0, 10, False))
    assert all(np.array_equal(a["image"], b["image"]) for a, b in zip(batches, again))
    assert not np.array_equal(batches[0]["image"], other[0]["image"])


def test_bad_knobs_and_crop_name_the_field(stored):
    with pytest.raises(ValueError, match=r"data.crop: expected an int in \[1, 6\]"):
        open_prepared(stored[0], crop=7)
    with pytest.raises(ValueError, match="data.workers: expected an int >= 0"):
        open_prepared(stored[0], workers=-1)


def test_main_trains_on_folder_path_with_flip_and_a_crashed_run_resumes_exactly(tmp_path):
    """experiments.main on --config.data.name=folder:PATH (the smoke config, smallest U-Net):
    a run stopped after 2 steps and resumed ends with the parameters of an uninterrupted run."""
    from experiments import build
    from experiments.configs import default
    from experiments.train import run

    x, y = digits(64)
    u8 = np.round((x + 1) * 127.5).astype(np.uint8)  # digits' 17 levels quantised to uint8
    prepared.write_prepared(str(tmp_path / "p"), list(u8), (8, 8, 1), name="digits", labels=y,
                            class_names=tuple("0123456789"))
    c = default.get_config("smoke")
    c.model.channel_mult, c.model.attention_resolutions = (1,), ()
    c.data.name, c.data.flip = f"folder:{tmp_path / 'p'}", True
    c.train.steps, c.train.ckpt_every, c.train.num_final_samples = 3, 2, 0
    ds = build.dataset(c)
    in_memory = default.get_config("smoke")
    in_memory.data.flip = True  # on a registered name: an error, not a silently ignored field
    with pytest.raises(ValueError, match="config.data.flip/crop: .*prepare_data --source=digits"):
        build.dataset(in_memory)
    assert ds.images.augment.flip and ds.images.shape == (64, 8, 8, 1) and ds.num_classes == 10
    full = run(c, str(tmp_path / "a"), progress=False)
    run(c, str(tmp_path / "b"), progress=False, stop_after=2)  # "crash" right after the step-2 checkpoint
    resumed = run(c, str(tmp_path / "b"), progress=False)
    assert int(full.step) == int(resumed.step) == 3
    for a, b in zip(jax.tree.leaves(full.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
