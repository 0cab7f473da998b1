"""The training loop's evaluation hook (train(evaluate=..., eval_every=K)) and the evaluator of
gen_jax.train.evaluation: called at the right steps with the EMA params, logged to metrics.jsonl
and TensorBoard; scores agree with independent computations on real and collapsed samples."""

import dataclasses
import glob
import struct
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from gen_jax.metrics import class_coverage
from gen_jax.metrics.feature_nets import FeatureNet, feature_stats, predict_labels
from gen_jax.nn.classifier import Classifier
from gen_jax.train.evaluation import make_evaluator, real_reference
from gen_jax.train.logging import read_metrics
from gen_jax.train.loop import train
from gen_jax.train.state import TrainState, ema_update
from gen_jax.utils.images import to_uint8

sys.path.insert(0, str(Path(__file__).parent))
from helpers import digits  # noqa: E402


@dataclasses.dataclass(frozen=True)
class MeanObjective:
    """The smallest objective (compiles in no time): params w chase the batch mean by SGD."""

    def init(self, key):
        w = jnp.zeros((8, 8, 1))
        return TrainState(step=jnp.zeros((), jnp.int32), params=w, ema_params=w, opt_state=(),
                          rng=jnp.asarray(key))

    def step(self, state, batch):
        loss = jnp.mean((state.params - batch["image"]) ** 2)
        w = state.params + 0.1 * (jnp.mean(batch["image"], 0) - state.params)
        ema = ema_update(state.ema_params, w, 0.9, state.step)
        return state.replace(step=state.step + 1, params=w, ema_params=ema), {"loss": loss}

    def preview(self, params, key, n):
        return jnp.broadcast_to(params, (n, *params.shape))


def read_tensorboard(logdir) -> dict:
    """{tag: [(step, value), ...]} from the tfevents files in logdir (TFRecord framing:
    u64 length, u32 crc, payload, u32 crc)."""
    from tensorboardX.proto import event_pb2

    out = {}
    for path in sorted(glob.glob(str(Path(logdir) / "events.out.tfevents.*"))):
        data = Path(path).read_bytes()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


def test_evaluate_runs_every_k_steps_and_at_the_end_with_ema_params_and_is_logged(tmp_path):
    x, y = digits(64)
    calls = []

    def evaluate(params, step):
        calls.append((step, jax.tree.map(np.asarray, params)))
        return {"eval/score": 10.0 * step, "eval/share/0": 0.5}

    kw = dict(batch_size=8, ckpt_every=0, log_every=1, progress=False, evaluate=evaluate, eval_every=2)
    state = train(MeanObjective(), x, y, workdir=str(tmp_path), num_steps=5, **kw)
    assert [s for s, _ in calls] == [2, 4, 5]
    for a, b in zip(jax.tree.leaves(calls[-1][1]), jax.tree.leaves(state.ema_params)):
        np.testing.assert_array_equal(a, np.asarray(b))
    logged = [(m["step"], m["eval/score"]) for m in read_metrics(str(tmp_path / "logs")) if "eval/score" in m]
    assert logged == [(s, 10.0 * s) for s in (2, 4, 5)]
    tb = read_tensorboard(tmp_path / "logs")
    assert tb["eval/score"] == [(s, 10.0 * s) for s in (2, 4, 5)]
    assert len(tb["eval/share/0"]) == 3 and len(tb["loss"]) == 5


def _tiny_net():
    model = Classifier(num_classes=10, channels=(4, 8), feature_dim=6)
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 1)))["params"]
    return FeatureNet("tiny", model, params, (8, 8, 1))


def test_evaluator_scores_real_samples_exactly_and_a_collapsed_generator_as_one_class():
    x, _ = digits(64)
    x = to_uint8(x).astype(np.float32) / 127.5 - 1  # on the uint8 grid, like the evaluator's samples
    net = _tiny_net()
    ref = real_reference(net, x, num=64)
    real = make_evaluator(lambda p, key, n: p[:n], net, ref, 64, batch_size=32)(jnp.asarray(x), 1)
    # two chunks of 32 from the same params: samples = x[:32] twice
    twice = np.concatenate([x[:32], x[:32]])
    cov = class_coverage(predict_labels(net, twice), 10)
    assert real["eval/class_coverage"] == (10 - len(cov["missing_classes"])) / 10
    assert abs(real["eval/class_entropy"] - cov["normalized_entropy"]) < 1e-12
    assert abs(sum(real[f"eval/class_share/{i}"] for i in range(10)) - 1) < 1e-12
    assert real["eval/precision"] == 1.0  # every sample is a real point
    # one chunk of 64 = x: its FID against x's own statistics is 0
    same = make_evaluator(lambda p, key, n: p[:n], net, ref, 64)(jnp.asarray(x), 1)
    assert abs(same["eval/fid"]) < 1e-6 and same["eval/recall"] == same["eval/prdc_coverage"] == 1.0
    # a collapsed generator: every sample is x[0]
    collapsed = make_evaluator(lambda p, key, n: jnp.broadcast_to(p[0], (n, 8, 8, 1)), net, ref, 64)
    s = collapsed(jnp.asarray(x), 1)
    assert s["eval/class_coverage"] == 0.1 and s["eval/class_entropy"] == 0.0
    assert s["eval/recall"] <= 1 / 64  # a ball of radius 0 holds only x[0] itself
    # noise samples: the same latents at every call, so the same scores
    noise = make_evaluator(lambda p, key, n: jnp.tanh(jax.random.normal(key, (n, 8, 8, 1))), net, ref, 64)
    assert noise(None, 1) == noise(None, 2)
    mu, _, _ = feature_stats(net, x)
    np.testing.assert_allclose(mu, ref.mu)
