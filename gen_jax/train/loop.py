"""The one training loop. It knows nothing of methods: an objective supplies init / step /
preview, the loop does placement on the mesh, checkpoint/resume, logging, progress and grids."""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gen_jax.data.pipeline import batch_iterator
from gen_jax.train import checkpoint, sharding
from gen_jax.train.logging import MetricWriter
from gen_jax.utils.images import save_grid, to_uint8


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or parameters."""


def _all_finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def train(objective, images: np.ndarray, labels: np.ndarray | None, *, workdir: str,
          num_steps: int, batch_size: int, seed: int = 0, log_every: int = 50,
          ckpt_every: int = 1000, sample_every: int = 0, num_preview: int = 64,
          keep_checkpoints: int = 3, mesh=None, progress: bool = True, stop_after: int | None = None,
          evaluate=None, eval_every: int = 0, extras: dict | None = None):
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
    """
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
    state = checkpoint.restore(mngr, abstract)
    if state is None:
        state = init_fn(key)
    start = int(jax.device_get(state.step))
    if start >= num_steps:
        return state

    step_fn = jax.jit(objective.step, in_shardings=(state_shardings, sharding.batch_sharding(mesh)),
                      out_shardings=(state_shardings, repl), donate_argnums=0)
    finite_fn = jax.jit(_all_finite, out_shardings=repl)
    preview_fn = jax.jit(objective.preview, static_argnums=2, out_shardings=repl)
    batches = batch_iterator(images, labels, batch_size, seed, sharding.local_rows(batch_size),
                             start, num_steps, extras)
    writer = MetricWriter(os.path.join(workdir, "logs"))
    is_main = jax.process_index() == 0

    def save_checkpoint(st, step):
        if not bool(finite_fn(st.params)):
            raise DivergenceError(f"parameters are not finite at step {step}; the last good "
                                  f"checkpoint ({mngr.latest_step()}) was left untouched")
        checkpoint.save(mngr, st)

    bar = tqdm(total=num_steps, initial=start, disable=not (progress and is_main),
               desc="train", dynamic_ncols=True)
    t_last, step_last = time.time(), start
    postfix = {}
    end = num_steps if stop_after is None else min(num_steps, start + stop_after)
    try:
        for step in range(start, end):
            batch = sharding.put_batch(next(batches), mesh)
            state, metrics = step_fn(state, batch)
            done = step + 1
            if done % log_every == 0 or done == end:
                metrics = jax.device_get(metrics)
                if not np.isfinite(metrics["loss"]):
                    mngr.wait_until_finished()
                    raise DivergenceError(
                        f"non-finite loss ({metrics['loss']}) at step {done}; stopping. The last "
                        f"good checkpoint ({mngr.latest_step()}) in {mngr.directory} is untouched")
                now = time.time()
                metrics["steps_per_sec"] = (done - step_last) / max(now - t_last, 1e-9)
                t_last, step_last = now, done
                writer.write(done, metrics)
                postfix.update(loss=f"{metrics['loss']:.4f}", sps=f"{metrics['steps_per_sec']:.2f}")
                bar.set_postfix(postfix)
            bar.update(1)
            if ckpt_every and done % ckpt_every == 0:
                save_checkpoint(state, done)
            if sample_every and done % sample_every == 0:  # all processes run it, process 0 writes
                x = preview_fn(state.ema_params, jax.random.PRNGKey(seed + 1), num_preview)
                if is_main:
                    save_grid(os.path.join(workdir, "samples", f"step_{done:07d}.png"), to_uint8(x))
            if evaluate is not None and eval_every and (done % eval_every == 0 or done == num_steps):
                t0 = time.time()
                scores = evaluate(state.ema_params, done)
                t_last += time.time() - t0
                writer.write(done, scores)
                postfix.update({k.rsplit("/", 1)[-1]: f"{v:.3g}" for k, v in scores.items()
                                if k.count("/") < 2})
                bar.set_postfix(postfix)
        if end == num_steps and (not ckpt_every or num_steps % ckpt_every):
            save_checkpoint(state, end)
    except KeyboardInterrupt:
        try:  # keep the work done so far; the state may be mid-donation, so best effort
            done = int(jax.device_get(state.step))
            if done > (mngr.latest_step() or 0):
                save_checkpoint(state, done)
        except Exception:
            pass
        mngr.wait_until_finished()
        raise
    finally:
        mngr.wait_until_finished()
        bar.close()
        writer.close()
    mngr.wait_until_finished()
    return state
