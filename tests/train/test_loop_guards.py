"""The training loop's guards, in process: the workdir lock, divergence over every metric and the
whole state, the loss blow-up guard, steps_per_call, keep_checkpoints, and the readers' errors."""

import dataclasses
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.data.readers import read_emoji_npz
from gen_jax.train import checkpoint, lock
from gen_jax.train.loop import DivergenceError, train
from gen_jax.train.state import TrainState, ema_update

sys.path.insert(0, str(Path(__file__).parent))
from helpers import digits, tiny_objective  # noqa: E402


# --- workdir lock ---------------------------------------------------------------------------------
def test_a_live_holder_blocks_the_workdir_and_a_dead_one_is_taken_over(tmp_path):
    wd = tmp_path / "w"
    # a live holder: another process holding the flock (no JAX import: it only needs fcntl)
    holder = subprocess.Popen([sys.executable, "-c", f"""
import fcntl, json, os, socket, sys, time
os.makedirs({str(wd)!r}, exist_ok=True)
fd = os.open({str(wd / 'LOCK')!r}, os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, json.dumps({{"host": socket.gethostname(), "pid": os.getpid(), "started": "now",
                         "command": "holder"}}).encode())
print("locked", flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(lock.WorkdirLockedError, match=f"pid {holder.pid} .*another --workdir"):
            lock.acquire(str(wd))
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: its record is still in the file, the flock is gone
    assert json.loads((wd / "LOCK").read_text())["pid"] == holder.pid
    with pytest.warns(UserWarning, match=f"stale lock .*pid {holder.pid}"):
        with lock.hold(str(wd)):
            assert json.loads((wd / "LOCK").read_text())["pid"] == os.getpid()
            with lock.hold(str(wd)):  # re-entrant in one process
                pass
            assert (wd / "LOCK").exists()
    assert not (wd / "LOCK").exists()


# --- divergence guard -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Corrupt:
    """A tiny objective (compiles at once: w chases the batch mean with momentum) whose `what`
    goes bad from step k on: "grad_norm" an inf metric beside a finite loss, "ema_params" inf in
    the EMA only (no metric shows it), "loss" the loss x 1e6."""

    k: int
    what: str

    def init(self, key):
        w = jnp.zeros((8, 8, 1))
        return TrainState(step=jnp.zeros((), jnp.int32), params=w, ema_params=w,
                          opt_state={"momentum": w}, rng=jnp.asarray(key))

    def preview(self, params, key, n):
        return jnp.broadcast_to(params, (n, *params.shape))

    def step(self, state, batch):
        g = state.params - jnp.mean(batch["image"], 0)
        m = 0.5 * state.opt_state["momentum"] + g
        w = state.params - 0.1 * m
        bad = state.step + 1 > self.k
        metrics = {"loss": jnp.mean(g ** 2), "grad_norm": jnp.sqrt(jnp.sum(g ** 2))}
        ema = ema_update(state.ema_params, w, 0.9, state.step)
        if self.what == "grad_norm":
            metrics["grad_norm"] = jnp.where(bad, jnp.inf, metrics["grad_norm"])
        elif self.what == "ema_params":
            ema = jnp.where(bad, jnp.inf, ema)
        else:
            metrics["loss"] = jnp.where(bad, 1e6, 1.0) * metrics["loss"]
        return state.replace(step=state.step + 1, params=w, ema_params=ema,
                             opt_state={"momentum": m}), metrics


def _all_finite_checkpoints(wd, obj):
    mngr = checkpoint.manager(str(wd / "checkpoints"))
    abstract = jax.eval_shape(obj.init, jax.random.PRNGKey(0))
    steps = sorted(mngr.all_steps())
    for s in steps:
        st = checkpoint.restore(mngr, abstract, s)
        assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(st)
                   if np.issubdtype(np.asarray(x).dtype, np.floating)), s
    return steps


@pytest.mark.parametrize("what,message", [
    ("grad_norm", r"non-finite grad_norm at step 4; stopping at step 4\. the last good checkpoint \(step 3\)"),
    ("ema_params", r"non-finite state at step 6 in ema_params; stopping\. the last good checkpoint \(step 3\)"),
    ("loss", r"loss blow-up at step 13"),
])
def test_any_bad_metric_or_state_leaf_stops_the_run_and_is_never_checkpointed(tmp_path, what, message):
    """(grad_norm) a metric other than the loss, seen at the next log step although the loss
    stays finite; (ema_params) a state leaf that no metric shows, caught at the next checkpoint;
    (loss) a loss 1e6 x its running median."""
    x, y = digits()
    obj = Corrupt({"grad_norm": 3, "ema_params": 3, "loss": 12}[what], what)
    log_every = {"grad_norm": 2, "ema_params": 100, "loss": 1}[what]
    with pytest.raises(DivergenceError, match=message):
        train(obj, x, y, workdir=str(tmp_path), num_steps=14, batch_size=16, log_every=log_every,
              ckpt_every=3, progress=False)
    assert _all_finite_checkpoints(tmp_path, obj) == ([3] if what != "loss" else [6, 9, 12])  # keep_checkpoints=3


# --- steps_per_call -------------------------------------------------------------------------------
def test_steps_per_call_gives_the_parameters_of_single_steps(tmp_path):
    x, y = digits()
    kw = dict(num_steps=7, batch_size=16, log_every=3, ckpt_every=0, progress=False)
    one = train(tiny_objective(), x, y, workdir=str(tmp_path / "k1"), **kw)
    three = train(tiny_objective(), x, y, workdir=str(tmp_path / "k3"), steps_per_call=3, **kw)
    assert int(three.step) == 7  # 3 + 3 in scans, the last one alone
    assert int(one.step) == 7 and np.array_equal(one.rng, three.rng)
    # XLA fuses the scanned step differently: float32 rounding differs, so compare the whole
    # parameter vector (one near-zero coordinate, which Adam divides by a near-zero second
    # moment, can differ relative to itself)
    flat = lambda t: np.concatenate([np.ravel(np.asarray(a, np.float64)) for a in jax.tree.leaves(t)])
    for part in ("params", "ema_params", "opt_state"):
        a, b = flat(getattr(one, part)), flat(getattr(three, part))
        assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(a), (part, np.linalg.norm(a - b) / np.linalg.norm(a))
    logged = [json.loads(line)["step"] for line in open(tmp_path / "k3" / "logs" / "metrics.jsonl")]
    assert logged == [3, 6, 7]


def test_keep_checkpoints_below_one_is_refused_before_anything_is_written(tmp_path):
    x, y = digits()
    with pytest.raises(ValueError, match=r"config.train.keep_checkpoints\): expected an int >= 1, found 0"):
        train(tiny_objective(), x, y, workdir=str(tmp_path / "w"), num_steps=2, batch_size=16,
              keep_checkpoints=0, progress=False)
    assert not (tmp_path / "w").exists()


# --- readers --------------------------------------------------------------------------------------
def test_damaged_npz_files_are_errors_naming_the_file(tmp_path):
    good = tmp_path / "emoji.npz"
    np.savez(good, images_rgba=np.zeros((2, 4, 4, 4), np.uint8), category=np.zeros(2, np.int64),
             category_names=np.array(["a"]))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(ValueError, match=f"{truncated}: cannot read .npz .*truncated"):
        read_emoji_npz(str(truncated))
    objects = tmp_path / "objects.npz"
    np.savez(objects, images_rgba=np.zeros((2, 4, 4, 4), np.uint8), category=np.zeros(2, np.int64),
             category_names=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=f"{objects}: array 'category_names' is an object array"):
        read_emoji_npz(str(objects))
    damaged = tmp_path / "damaged.npz"  # a valid zip whose member is not an .npy
    with zipfile.ZipFile(damaged, "w") as z:
        for k in ("images_rgba", "category", "category_names"):
            z.writestr(f"{k}.npy", b"not an npy")
    with pytest.raises(ValueError, match=f"{damaged}: array 'images_rgba' cannot be read"):
        read_emoji_npz(str(damaged))
