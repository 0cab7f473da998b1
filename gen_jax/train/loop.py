"""The one training loop. It knows nothing of methods: an objective supplies init / step /
preview, the loop does placement on the mesh, checkpoint/resume, logging, progress and grids,
and guards the run: a workdir lock, a divergence guard, and a checkpoint on SIGINT/SIGTERM."""

from __future__ import annotations

import collections
import os
import signal
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gen_jax.data.pipeline import batch_iterator
from gen_jax.train import checkpoint, lock, sharding
from gen_jax.train.logging import MetricWriter
from gen_jax.utils.images import save_grid, to_uint8

# The loss blow-up guard compares each logged loss with the median |loss| of the last
# _BLOWUP_WINDOW logged values, once _BLOWUP_MIN_HISTORY of them exist.
_BLOWUP_WINDOW = 100
_BLOWUP_MIN_HISTORY = 10


class DivergenceError(FloatingPointError):
    """Training produced a non-finite metric or state, or a loss blow-up."""


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM stopped training; `step` is the step of the checkpoint written (or None)."""

    def __init__(self, message: str, signum: int, step: int | None):
        super().__init__(message)
        self.signum, self.step = signum, step


def _leaf_names(tree) -> list[str]:
    return [jax.tree_util.keystr(p, simple=True, separator="/")
            for p, x in jax.tree_util.tree_leaves_with_path(tree) if _is_float(x)]


def _is_float(x) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.inexact)


def _finite_leaves(tree):
    """[n] bool: whether each floating leaf of tree (in _leaf_names order) is all finite."""
    flags = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if _is_float(x)]
    return jnp.stack(flags) if flags else jnp.ones((0,), bool)


def _guarded(step_fn):
    """step_fn(state, batch) -> (state, metrics), plus a guard {metric: int32}: the first step
    at which that metric was non-finite, -1 while it has been finite. Checked on the host only at
    log and checkpoint steps, so the guard costs no host round-trip per step."""

    def step(state, guard, batch):
        state, metrics = step_fn(state, batch)
        guard = {k: jnp.where((g < 0) & ~jnp.all(jnp.isfinite(metrics[k])), state.step, g)
                 for k, g in guard.items()}
        return state, guard, metrics

    return step


def _multi_step(step):
    """k guarded steps in one dispatch (a lax.scan over k batches): the parameters of k single
    calls, with one host round-trip. Returns the last step's metrics."""

    def multi(state, guard, batches):
        stacked = jax.tree.map(lambda *b: jnp.stack(b), *batches)

        def body(carry, batch):
            state, guard, metrics = step(*carry, batch)
            return (state, guard), metrics

        (state, guard), metrics = jax.lax.scan(body, (state, guard), stacked)
        return state, guard, jax.tree.map(lambda m: m[-1], metrics)

    return multi


class _StopSignal:
    """SIGINT/SIGTERM set a flag that the loop reads between steps (a signal never interrupts a
    step midway, whose input state is donated); a second signal interrupts at once."""

    def __init__(self):
        self.signum = None
        self._old = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopped without saving")
        self.signum = signum

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)


def train(objective, images: np.ndarray, labels: np.ndarray | None, *, workdir: str,
          num_steps: int, batch_size: int, seed: int = 0, log_every: int = 50,
          ckpt_every: int = 1000, sample_every: int = 0, num_preview: int = 64,
          keep_checkpoints: int = 3, mesh=None, progress: bool = True, stop_after: int | None = None,
          evaluate=None, eval_every: int = 0, extras: dict | None = None, steps_per_call: int = 1,
          loss_blowup_factor: float = 1000.0, on_start=None):
    """Train until state.step == num_steps, resuming from workdir's latest checkpoint.

    images: [N, H, W, C] float32 in [-1, 1] (host memory), or a streamed set
    (gen_jax.data.stream.PreparedImages); labels: [N] or None (for a streamed set, only whether
    batches carry its labels). The global batch
    `step` is a function of (seed, step) only. stop_after: return after this many steps of this
    call without a final checkpoint (simulates a crash in tests). mesh: sharding.make_mesh(...)
    (default: all devices, state replicated; make_mesh(fsdp=k) shards the state k ways). A
    checkpoint restores onto any mesh (another device count or fsdp). Returns the final TrainState.
    evaluate(ema_params, step) -> {name: float} (e.g. gen_jax.train.evaluation.make_evaluator):
    called every eval_every steps and at num_steps, by every process (it may run collective
    programs); the scores go to the logs and the progress bar (names with two '/' to the logs
    only), and its time is left out of steps_per_sec.
    extras: {name: [N, ...] array} batched with the images under their own keys (e.g. reflow's
    "noise", the z paired with each image).
    steps_per_call: k > 1 runs k steps per dispatch (lax.scan); the same parameters as k calls.
    Log, checkpoint, preview and evaluation fire at the end of the call in which their step
    falls (choose periods that are multiples of k to keep them on their steps).

    Guards: the workdir is locked for the call (lock.WorkdirLockedError if another run holds it).
    Every metric of every step, and the whole state (params, EMA, optimiser state) at each log
    and checkpoint step must be finite, and a logged loss must stay below loss_blowup_factor x
    the median |loss| of recent logs (0: off); else DivergenceError, and no non-finite state is
    ever checkpointed. SIGINT/SIGTERM save a checkpoint at the current step and raise
    TrainingInterrupted. on_start(start_step) is called once the checkpoint (if any) restored,
    before anything else is written (experiments.main writes run.json there).
    """
    if keep_checkpoints < 1:
        raise ValueError(f"keep_checkpoints (config.train.keep_checkpoints): expected an int >= 1, "
                         f"found {keep_checkpoints!r}")
    if steps_per_call < 1:
        raise ValueError(f"steps_per_call (config.train.steps_per_call): expected an int >= 1, "
                         f"found {steps_per_call!r}")
    with lock.hold(workdir):
        return _train(objective, images, labels, workdir=workdir, num_steps=num_steps,
                      batch_size=batch_size, seed=seed, log_every=log_every, ckpt_every=ckpt_every,
                      sample_every=sample_every, num_preview=num_preview,
                      keep_checkpoints=keep_checkpoints, mesh=mesh, progress=progress,
                      stop_after=stop_after, evaluate=evaluate, eval_every=eval_every,
                      extras=extras, steps_per_call=steps_per_call,
                      loss_blowup_factor=loss_blowup_factor, on_start=on_start)


def _train(objective, images, labels, *, workdir, num_steps, batch_size, seed, log_every,
           ckpt_every, sample_every, num_preview, keep_checkpoints, mesh, progress, stop_after,
           evaluate, eval_every, extras, steps_per_call, loss_blowup_factor, on_start):
    mesh = mesh or sharding.make_mesh()
    sharding.check_batch_size(batch_size, mesh)
    repl = sharding.replicated(mesh)
    key = jax.random.PRNGKey(seed)

    abstract = jax.eval_shape(objective.init, key)
    state_shardings = sharding.state_sharding(abstract, mesh)  # replicated unless the mesh has fsdp > 1
    init_fn = jax.jit(objective.init, out_shardings=state_shardings)
    abstract = jax.tree.map(lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh),
                            abstract, state_shardings)
    mngr = checkpoint.manager(os.path.join(workdir, "checkpoints"), keep_checkpoints)
    try:
        state = checkpoint.restore(mngr, abstract)
        if state is None:
            state = init_fn(key)
        start = int(jax.device_get(state.step))
        if on_start is not None:
            on_start(start)
        if start >= num_steps:
            return state
        return _loop(objective, images, labels, state, start, mngr, workdir=workdir,
                     num_steps=num_steps, batch_size=batch_size, seed=seed, log_every=log_every,
                     ckpt_every=ckpt_every, sample_every=sample_every, num_preview=num_preview,
                     mesh=mesh, repl=repl, state_shardings=state_shardings, progress=progress,
                     stop_after=stop_after, evaluate=evaluate, eval_every=eval_every,
                     extras=extras, steps_per_call=steps_per_call,
                     loss_blowup_factor=loss_blowup_factor)
    finally:
        mngr.wait_until_finished()
        mngr.close()


def _loop(objective, images, labels, state, start, mngr, *, workdir, num_steps, batch_size, seed,
          log_every, ckpt_every, sample_every, num_preview, mesh, repl, state_shardings, progress,
          stop_after, evaluate, eval_every, extras, steps_per_call, loss_blowup_factor):
    bsh = sharding.batch_sharding(mesh)
    batch_stream = batch_iterator(images, labels, batch_size, seed, sharding.local_rows(batch_size),
                                  start, num_steps, extras)
    expected = [start]

    def next_batch(step):  # the batches come in step order, from memory or streamed
        assert step == expected[0], (step, expected[0])
        expected[0] += 1
        return sharding.put_batch(next(batch_stream), mesh)

    first = next_batch(start)
    metric_names = list(jax.eval_shape(objective.step, state, first)[1])
    guard = jax.device_put({k: np.int32(-1) for k in metric_names}, repl)
    guard_sh = {k: repl for k in metric_names}
    step1 = _guarded(objective.step)
    step_fn = jax.jit(step1, in_shardings=(state_shardings, guard_sh, bsh),
                      out_shardings=(state_shardings, guard_sh, repl), donate_argnums=(0, 1))
    multi_fn = None
    if steps_per_call > 1:
        multi_fn = jax.jit(_multi_step(step1), in_shardings=(state_shardings, guard_sh, bsh),
                           out_shardings=(state_shardings, guard_sh, repl), donate_argnums=(0, 1))
    finite_fn = jax.jit(_finite_leaves, out_shardings=repl)
    leaf_names = _leaf_names(state)
    preview_fn = jax.jit(objective.preview, static_argnums=2, out_shardings=repl)
    writer = MetricWriter(os.path.join(workdir, "logs"), start_step=start)
    is_main = jax.process_index() == 0
    losses = collections.deque(maxlen=_BLOWUP_WINDOW)

    def last_good() -> str:
        mngr.wait_until_finished()
        s = mngr.latest_step()
        return (f"the last good checkpoint (step {s}) in {mngr.directory} is untouched"
                if s is not None else f"no checkpoint was written to {mngr.directory}")

    def check(st, guard, done: int, whole_state: bool) -> None:
        """Raise DivergenceError naming what is non-finite (metrics first, then state leaves)."""
        g = jax.device_get(guard)
        bad = {k: int(v) for k, v in g.items() if v >= 0}
        if bad:
            first_step = min(bad.values())
            names = sorted((k for k, v in bad.items() if v == first_step), key=lambda k: k != "loss")
            also = f" (also: {', '.join(names[1:])})" if len(names) > 1 else ""
            raise DivergenceError(f"non-finite {names[0]}{also} at step {first_step}; stopping at step "
                                  f"{done}. {last_good()}; lower the learning rate or resume "
                                  f"from it with another config in a new workdir")
        if whole_state:
            ok = np.asarray(jax.device_get(finite_fn(st)))
            if not ok.all():
                names = [n for n, f in zip(leaf_names, ok) if not f]
                more = f" and {len(names) - 3} more" if len(names) > 3 else ""
                raise DivergenceError(f"non-finite state at step {done} in {', '.join(names[:3])}"
                                      f"{more}; stopping. {last_good()}")

    saved = [mngr.latest_step()]

    def save_checkpoint(st, guard, done):
        check(st, guard, done, whole_state=True)
        checkpoint.save(mngr, st)
        saved[0] = done

    def crossed(every: int, step: int, done: int) -> bool:
        return bool(every) and done // every > step // every

    bar = tqdm(total=num_steps, initial=start, disable=not (progress and is_main),
               desc="train", dynamic_ncols=True)
    t_last, step_last = time.time(), start
    postfix = {}
    end = num_steps if stop_after is None else min(num_steps, start + stop_after)
    step = start
    try:
        with _StopSignal() as stop:
            while step < end:
                k = steps_per_call if multi_fn is not None and step + steps_per_call <= end else 1
                batches = [first if s == start else next_batch(s) for s in range(step, step + k)]
                if k == 1:
                    state, guard, metrics = step_fn(state, guard, batches[0])
                else:
                    state, guard, metrics = multi_fn(state, guard, batches)
                done = step + k
                logged = crossed(log_every, step, done) or done == end
                if logged:
                    check(state, guard, done, whole_state=True)
                    metrics = jax.device_get(metrics)
                    loss = float(metrics["loss"])
                    if (loss_blowup_factor and len(losses) >= _BLOWUP_MIN_HISTORY
                            and abs(loss) > loss_blowup_factor * np.median(losses)):
                        raise DivergenceError(
                            f"loss blow-up at step {done}: {loss:.4g} is more than "
                            f"train.loss_blowup_factor={loss_blowup_factor:g} x the running median "
                            f"|loss| {np.median(losses):.4g}; stopping. {last_good()}")
                    losses.append(abs(loss))
                    now = time.time()
                    metrics["steps_per_sec"] = (done - step_last) / max(now - t_last, 1e-9)
                    t_last, step_last = now, done
                    writer.write(done, metrics)
                    postfix.update(loss=f"{loss:.4f}", sps=f"{metrics['steps_per_sec']:.2f}")
                    bar.set_postfix(postfix)
                bar.update(k)
                if crossed(ckpt_every, step, done):
                    save_checkpoint(state, guard, done)
                if crossed(sample_every, step, done):  # all processes run it, process 0 writes
                    x = preview_fn(state.ema_params, jax.random.PRNGKey(seed + 1), num_preview)
                    if is_main:
                        save_grid(os.path.join(workdir, "samples", f"step_{done:07d}.png"), to_uint8(x))
                if evaluate is not None and eval_every and (crossed(eval_every, step, done)
                                                            or done == num_steps):
                    t0 = time.time()
                    scores = evaluate(state.ema_params, done)
                    t_last += time.time() - t0
                    writer.write(done, scores)
                    postfix.update({k.rsplit("/", 1)[-1]: f"{v:.3g}" for k, v in scores.items()
                                    if k.count("/") < 2})
                    bar.set_postfix(postfix)
                step = done
                if _stop_requested(stop, logged or done == end):
                    if saved[0] != done:
                        save_checkpoint(state, guard, done)
                    mngr.wait_until_finished()
                    name = signal.Signals(stop.signum).name
                    raise TrainingInterrupted(f"{name} at step {done}: saved a checkpoint at step "
                                              f"{done} in {mngr.directory}; run the same command "
                                              f"to resume", stop.signum, done)
            if end == num_steps and saved[0] != end:
                save_checkpoint(state, guard, end)
    finally:
        bar.close()
        writer.close()
    return state


def _stop_requested(stop: _StopSignal, at_log_step: bool) -> bool:
    """Whether a signal asked to stop. With several processes they must agree on the step (the
    save is collective), so they compare flags at log steps only."""
    if jax.process_count() == 1:
        return stop.signum is not None
    if not at_log_step:
        return False
    from jax.experimental import multihost_utils
    flags = multihost_utils.process_allgather(np.int32(stop.signum or 0))
    stop.signum = stop.signum or int(np.max(flags)) or None
    return stop.signum is not None

