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
from experiments.configs import default, text_to_image

REPO = Path(__file__).resolve().parents[2]


def _run(args):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=900)


def test_text_smoke_trains_and_samples_from_a_prompt(tmp_path):
    from experiments.main import run

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
    tok = build.text_tokenizer(build.load_run_info(str(wd))[0])
    np.testing.assert_array_equal(z["tokens"], tok.encode(list(z["prompts"])))


def test_prompt_on_a_run_without_text_encoder_is_a_clear_error(tmp_path):
    build.save_run_info(str(tmp_path), default.get_config("smoke"), (8, 8, 1), 10)
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
