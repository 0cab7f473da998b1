"""The GAN objective: a generator and a discriminator trained by alternation inside one `step`
(n_critic D updates as a lax.scan, then one G update), run by the shared training loop."""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.gan.losses import LOSSES, d_loss, g_loss, gradient_penalty, r1_penalty
from gen_jax.train.state import TrainState, ema_update

# The shared state type: params = {"g": G's, "d": D's}, opt_state = {"g": .., "d": ..},
# ema_params = the EMA of G's params only (what preview/sample draw with); step counts G updates.
GANState = TrainState


@dataclasses.dataclass(frozen=True)
class GANObjective:
    generator: nn.Module             # called as generator(z [B, z_dim], labels) -> [B, H, W, C]
    discriminator: nn.Module         # called as discriminator(x, labels) -> [B]
    image_shape: tuple               # (H, W, C)
    tx_g: optax.GradientTransformation
    tx_d: optax.GradientTransformation
    lr_schedule_g: Callable
    lr_schedule_d: Callable
    z_dim: int = 100
    loss: str = "nonsaturating"      # one of LOSSES
    n_critic: int = 1                # D updates per G update
    gp_weight: float = 10.0          # λ of the WGAN-GP penalty (loss == "wgan-gp" only)
    r1_gamma: float = 0.0            # γ of the R1 penalty γ/2·R1 on real data (any loss; 0: off)
    num_classes: int | None = None   # class-conditional G and D when set
    ema_decay: float = 0.999

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"objective.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.n_critic < 1:
            raise ValueError(f"objective.n_critic must be >= 1, got {self.n_critic}")

    # --- networks ---------------------------------------------------------------------------
    def generate(self, g_params, z, labels=None):
        return self.generator.apply({"params": g_params}, z, labels)

    def critic(self, d_params, x, labels=None):
        return self.discriminator.apply({"params": d_params}, x, labels)

    def _latents(self, key, num: int):
        """z [num, z_dim], sample i from fold_in(key, i): independent of num."""
        return jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(key, i), (self.z_dim,)))(
            jnp.arange(num))

    # --- training ---------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> GANState:
        k_g, k_d, k_state = jax.random.split(key, 3)
        z = jnp.zeros((batch_size, self.z_dim), jnp.float32)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        labels = jnp.zeros((batch_size,), jnp.int32) if self.num_classes else None
        params = {"g": self.generator.init({"params": k_g}, z, labels)["params"],
                  "d": self.discriminator.init({"params": k_d}, x, labels)["params"]}
        return GANState(step=jnp.zeros((), jnp.int32), params=params,
                        ema_params=jax.tree.map(jnp.copy, params["g"]),
                        opt_state={"g": self.tx_g.init(params["g"]), "d": self.tx_d.init(params["d"])},
                        rng=jnp.asarray(k_state))

    def d_loss_fn(self, d_params, g_params, real, labels, key):
        """D's loss (with its penalties) on one real batch and a fresh fake batch. Returns
        (loss, aux) with aux the mean critic values on real and fake, and the penalty."""
        k_z, k_gp = jax.random.split(key)
        fake = jax.lax.stop_gradient(self.generate(g_params, self._latents(k_z, real.shape[0]), labels))
        critic = lambda x: self.critic(d_params, x, labels)  # noqa: E731
        f_real, f_fake = critic(real), critic(fake)
        loss = d_loss(self.loss, f_real, f_fake)
        penalty = jnp.zeros(())
        if self.loss == "wgan-gp":
            penalty = self.gp_weight * gradient_penalty(critic, real, fake, k_gp)
        if self.r1_gamma:
            penalty = penalty + 0.5 * self.r1_gamma * r1_penalty(critic, real)
        return loss + penalty, {"d_real": jnp.mean(f_real), "d_fake": jnp.mean(f_fake), "penalty": penalty}

    def g_loss_fn(self, g_params, d_params, labels, key, batch_size: int):
        fake = self.generate(g_params, self._latents(key, batch_size), labels)
        return g_loss(self.loss, self.critic(d_params, fake, labels))

    def _d_update(self, carry, key, g_params, real, labels):
        d_params, opt_state = carry
        (loss, aux), grads = jax.value_and_grad(self.d_loss_fn, has_aux=True)(
            d_params, g_params, real, labels, key)
        updates, opt_state = self.tx_d.update(grads, opt_state, d_params)
        d_params = optax.apply_updates(d_params, updates)
        return (d_params, opt_state), {"d_loss": loss, "d_grad_norm": optax.tree.norm(grads), **aux}

    def step(self, state: GANState, batch: dict, debug: bool = False):
        """n_critic D updates (a lax.scan; a Python loop when debug), each on the same real batch
        with fresh fakes and its own key fold_in(key, i), then one G update with key
        fold_in(key, n_critic). batch: {"image": [B, H, W, C], "label": [B]}."""
        key = jax.random.fold_in(state.rng, state.step)
        real = batch["image"]
        labels = batch.get("label") if self.num_classes else None
        g_params = state.params["g"]
        body = lambda c, i: self._d_update(c, jax.random.fold_in(key, i), g_params, real, labels)  # noqa: E731
        carry = (state.params["d"], state.opt_state["d"])
        if debug:
            outs = []
            for i in range(self.n_critic):
                carry, out = body(carry, jnp.asarray(i))
                outs.append(out)
            d_metrics = jax.tree.map(lambda *xs: jnp.stack(xs), *outs)
        else:
            carry, d_metrics = jax.lax.scan(body, carry, jnp.arange(self.n_critic))
        d_params, d_opt = carry

        k_g = jax.random.fold_in(key, self.n_critic)
        loss_g, grads = jax.value_and_grad(self.g_loss_fn)(g_params, d_params, labels, k_g, real.shape[0])
        updates, g_opt = self.tx_g.update(grads, state.opt_state["g"], g_params)
        g_params = optax.apply_updates(g_params, updates)
        ema = ema_update(state.ema_params, g_params, self.ema_decay, state.step)

        last = jax.tree.map(lambda x: x[-1], d_metrics)  # after the last D update
        # "loss" is what the loop checks for divergence: make it non-finite when D's loss is.
        loss = jnp.where(jnp.isfinite(last["d_loss"]), loss_g, jnp.nan)
        metrics = {"loss": loss, "g_loss": loss_g, "g_grad_norm": optax.tree.norm(grads),
                   "learning_rate": self.lr_schedule_g(state.step),
                   "d_learning_rate": self.lr_schedule_d(state.step * self.n_critic), **last}
        state = state.replace(step=state.step + 1, params={"g": g_params, "d": d_params},
                              ema_params=ema, opt_state={"g": g_opt, "d": d_opt})
        return state, metrics

    # --- sampling ---------------------------------------------------------------------------
    def sample(self, params, key, num: int | None = None, *, labels=None, **ignored):
        """Images [N, H, W, C] in [-1, 1] from G's params. key: one key (with num), sample i from
        z_i ~ N(0, I) drawn with fold_in(key, i); or per-sample keys [N, 2], z_i drawn with
        keys[i] (so keys[i] = fold_in(key, i) gives the same images). Sample i never depends on N.
        Other keyword arguments (a diffusion sampler's name, steps, ...) are ignored."""
        del ignored
        if jnp.ndim(key) == 2:
            z = jax.vmap(lambda k: jax.random.normal(k, (self.z_dim,)))(key)
        else:
            z = self._latents(key, num)
        if self.num_classes and labels is None:
            labels = jnp.arange(z.shape[0]) % self.num_classes
        return self.generate(params, z, labels if self.num_classes else None)

    def preview(self, params, key, num: int):
        return self.sample(params, key, num)
