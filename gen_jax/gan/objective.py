"""The GAN objective: a generator and a discriminator trained by alternation inside one `step`
(n_critic D updates as a lax.scan, then one G update), run by the shared training loop.

Networks with mutable state: G's and D's non-parameter collections (G: batch norm's running
statistics "batch_stats", StyleGAN's w_avg "stats"; D: spectral-norm vectors "spectral") live in
state.model_state = {"g": {...}, "d": {...}}. They are updated by the forward passes whose
parameters are being trained: D's during each D update (the pass on real data), G's during the G
update (the G pass inside a D update uses batch statistics but its updates are dropped).

Sampling uses G in evaluation mode with state.ema_params = the EMA of G's *variables*
{"params": ..., **collections}: the running BN statistics (and w_avg) are averaged with the same
decay as the weights. This is a choice: the running statistics of the raw G approximate those
of the EMA'd G because both move slowly (recomputing "standing statistics" of the EMA'd G would
need extra passes at every sampling call).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import optax

from gen_jax.gan.augment import diff_augment, parse_policy
from gen_jax.gan.losses import LOSSES, d_loss, g_loss, gradient_penalty, r1_penalty
from gen_jax.train.state import TrainState, ema_update


@flax.struct.dataclass
class GANState(TrainState):
    """TrainState with params = {"g": G's, "d": D's}, opt_state = {"g": .., "d": ..},
    ema_params = EMA of G's variables {"params", **G's collections} (what preview/sample/generate
    take), model_state = {"g": G's collections, "d": D's collections} ({} for stateless nets).
    step counts G updates."""

    model_state: Any = None


def _apply_mutable(module: nn.Module, variables, *args, **kwargs):
    """module.apply with every non-parameter collection of variables mutable: (out, collections)."""
    cols = [k for k in variables if k != "params"]
    if not cols:
        return module.apply(variables, *args, **kwargs), {}
    out, updated = module.apply(variables, *args, mutable=cols, **kwargs)
    return out, dict(updated)


@dataclasses.dataclass(frozen=True)
class GANObjective:
    generator: nn.Module             # generator(z [B, z_dim], labels, train) -> [B, H, W, C]
    discriminator: nn.Module         # discriminator(x, labels, train) -> [B]
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
    diffaugment: str = ""            # DiffAugment policy before D, e.g. "color,translation,cutout"
    truncation: float = 1.0          # ψ of sample/preview (generators with truncation_psi only)

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"objective.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.n_critic < 1:
            raise ValueError(f"objective.n_critic must be >= 1, got {self.n_critic}")
        parse_policy(self.diffaugment)

    # --- networks ---------------------------------------------------------------------------
    def generate(self, g_vars, z, labels=None, truncation=None):
        """G in evaluation mode: g_vars = {"params", **collections} (e.g. state.ema_params)."""
        psi = self.truncation if truncation is None else truncation
        kw = {} if truncation is None and psi == 1.0 else {"truncation_psi": psi}
        return self.generator.apply(g_vars, z, labels, train=False, **kw)

    def _generate_train(self, g_vars, z, labels, key):
        """G in training mode (batch statistics, random noise/mixing): (images, new collections)."""
        return _apply_mutable(self.generator, g_vars, z, labels, train=True, rngs={"noise": key})

    def augment(self, x, key):
        return diff_augment(x, key, self.diffaugment)

    def _latents(self, key, num: int):
        """z [num, z_dim], sample i from fold_in(key, i): independent of num."""
        return jax.vmap(lambda i: jax.random.normal(jax.random.fold_in(key, i), (self.z_dim,)))(
            jnp.arange(num))

    # --- training ---------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> GANState:
        k_g, k_d, k_state, k_noise = jax.random.split(key, 4)
        z = jnp.zeros((batch_size, self.z_dim), jnp.float32)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        labels = jnp.zeros((batch_size,), jnp.int32) if self.num_classes else None
        g_vars = dict(self.generator.init({"params": k_g, "noise": k_noise}, z, labels))
        d_vars = dict(self.discriminator.init({"params": k_d}, x, labels))
        params = {"g": g_vars.pop("params"), "d": d_vars.pop("params")}
        model_state = {"g": g_vars, "d": d_vars}
        return GANState(step=jnp.zeros((), jnp.int32), params=params,
                        ema_params=jax.tree.map(jnp.copy, {"params": params["g"], **g_vars}),
                        opt_state={"g": self.tx_g.init(params["g"]), "d": self.tx_d.init(params["d"])},
                        rng=jnp.asarray(k_state), model_state=model_state)

    def d_loss_fn(self, d_params, d_state, g_vars, real, labels, key):
        """D's loss (with its penalties) on one real batch and a fresh fake batch, both through
        DiffAugment when set (penalties too: R1 at the augmented reals, as the reference code).
        Returns (loss, (aux, new D collections)); aux: mean critic values and the penalty."""
        k_z, k_noise, k_real, k_fake, k_gp, k_gp_aug = jax.random.split(key, 6)
        fake, _ = self._generate_train(g_vars, self._latents(k_z, real.shape[0]), labels, k_noise)
        fake = jax.lax.stop_gradient(fake)
        # the pass on real data advances D's state (spectral-norm power iteration) ...
        f_real, d_state = _apply_mutable(self.discriminator, {"params": d_params, **d_state},
                                         self.augment(real, k_real), labels, train=True)
        d_vars = {"params": d_params, **d_state}
        # ... the other passes read it
        critic = lambda x, k: self.discriminator.apply(d_vars, self.augment(x, k), labels)  # noqa: E731
        f_fake = critic(fake, k_fake)
        loss = d_loss(self.loss, f_real, f_fake)
        penalty = jnp.zeros(())
        if self.loss == "wgan-gp":
            penalty = self.gp_weight * gradient_penalty(lambda x: critic(x, k_gp_aug), real, fake, k_gp)
        if self.r1_gamma:
            penalty = penalty + 0.5 * self.r1_gamma * r1_penalty(lambda x: critic(x, k_real), real)
        aux = {"d_real": jnp.mean(f_real), "d_fake": jnp.mean(f_fake), "penalty": penalty}
        if self.loss in ("nonsaturating", "minimax"):  # f is a logit: D(G(z)) = σ(f) is meaningful
            aux["d_fake_prob"] = jnp.mean(jax.nn.sigmoid(f_fake))
        return loss + penalty, (aux, d_state)

    def g_loss_fn(self, g_params, g_state, d_vars, labels, key, batch_size: int):
        """G's loss on a fresh fake batch; returns (loss, new G collections)."""
        k_z, k_noise, k_aug = jax.random.split(key, 3)
        fake, g_state = self._generate_train({"params": g_params, **g_state},
                                             self._latents(k_z, batch_size), labels, k_noise)
        f_fake = self.discriminator.apply(d_vars, self.augment(fake, k_aug), labels)
        return g_loss(self.loss, f_fake), g_state

    def _d_update(self, carry, key, g_vars, real, labels):
        d_params, opt_state, d_state = carry
        (loss, (aux, d_state)), grads = jax.value_and_grad(self.d_loss_fn, has_aux=True)(
            d_params, d_state, g_vars, real, labels, key)
        updates, opt_state = self.tx_d.update(grads, opt_state, d_params)
        d_params = optax.apply_updates(d_params, updates)
        return (d_params, opt_state, d_state), {"d_loss": loss, "d_grad_norm": optax.tree.norm(grads), **aux}

    def step(self, state: GANState, batch: dict, debug: bool = False):
        """n_critic D updates (a lax.scan; a Python loop when debug), each on the same real batch
        with fresh fakes and its own key fold_in(key, i), then one G update with key
        fold_in(key, n_critic). batch: {"image": [B, H, W, C], "label": [B]}."""
        key = jax.random.fold_in(state.rng, state.step)
        real = batch["image"]
        labels = batch.get("label") if self.num_classes else None
        g_params, g_state = state.params["g"], state.model_state["g"]
        g_vars = {"params": g_params, **g_state}
        body = lambda c, i: self._d_update(c, jax.random.fold_in(key, i), g_vars, real, labels)  # noqa: E731
        carry = (state.params["d"], state.opt_state["d"], state.model_state["d"])
        if debug:
            outs = []
            for i in range(self.n_critic):
                carry, out = body(carry, jnp.asarray(i))
                outs.append(out)
            d_metrics = jax.tree.map(lambda *xs: jnp.stack(xs), *outs)
        else:
            carry, d_metrics = jax.lax.scan(body, carry, jnp.arange(self.n_critic))
        d_params, d_opt, d_state = carry

        k_g = jax.random.fold_in(key, self.n_critic)
        (loss_g, g_state), grads = jax.value_and_grad(self.g_loss_fn, has_aux=True)(
            g_params, g_state, {"params": d_params, **d_state}, labels, k_g, real.shape[0])
        updates, g_opt = self.tx_g.update(grads, state.opt_state["g"], g_params)
        g_params = optax.apply_updates(g_params, updates)
        ema = ema_update(state.ema_params, {"params": g_params, **g_state}, self.ema_decay, state.step)

        last = jax.tree.map(lambda x: x[-1], d_metrics)  # after the last D update
        # "loss" is what the loop checks for divergence: make it non-finite when D's loss is.
        loss = jnp.where(jnp.isfinite(last["d_loss"]), loss_g, jnp.nan)
        metrics = {"loss": loss, "g_loss": loss_g, "g_grad_norm": optax.tree.norm(grads),
                   "learning_rate": self.lr_schedule_g(state.step),
                   "d_learning_rate": self.lr_schedule_d(state.step * self.n_critic), **last}
        state = state.replace(step=state.step + 1, params={"g": g_params, "d": d_params},
                              ema_params=ema, opt_state={"g": g_opt, "d": d_opt},
                              model_state={"g": g_state, "d": d_state})
        return state, metrics

    # --- sampling ---------------------------------------------------------------------------
    def sample(self, params, key, num: int | None = None, *, labels=None, truncation=None):
        """Images [N, H, W, C] (in [-1, 1] up to a linear output layer) from G's variables (state.ema_params).
        key: one key (with num), sample i from z_i ~ N(0, I) drawn with fold_in(key, i); or
        per-sample keys [N, 2], z_i drawn with keys[i] (so keys[i] = fold_in(key, i) gives the
        same images). Sample i never depends on N. truncation: ψ (default: self.truncation)."""
        if jnp.ndim(key) == 2:
            z = jax.vmap(lambda k: jax.random.normal(k, (self.z_dim,)))(key)
        else:
            z = self._latents(key, num)
        if self.num_classes and labels is None:
            labels = jnp.arange(z.shape[0]) % self.num_classes
        return self.generate(params, z, labels if self.num_classes else None, truncation)

    def preview(self, params, key, num: int):
        return self.sample(params, key, num)
