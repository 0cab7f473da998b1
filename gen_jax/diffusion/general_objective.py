"""The generalized-diffusion objective: a network trained on any process of process.py in any
prediction target, sampled by every sampler of gen_jax/samplers (on the VP view) and by the
rectified-flow Euler/Heun of gen_jax/flow (on the rectified-flow view). The training loop calls
init / step / preview and, for the final grid, sample."""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.samplers.guidance import cfg_apply

from gen_jax.diffusion.process import (PREDICTIONS, Process, broadcast_coefficients, from_x0_eps,
                                       input_scale)
from gen_jax.flow.rectified_flow import TIME_SAMPLINGS, sample_time
from gen_jax.objective import given
from gen_jax.samplers.registry import SAMPLERS
from gen_jax.samplers.views import Views, draw, noise, views_of
from gen_jax.train.state import TrainState, create_state, gradient_step

ALL_SAMPLERS = tuple(SAMPLERS)


def process_loss(model_fn: Callable, process: Process, prediction: str, x0, key, *,
                 sampling: str = "uniform", mean: float = 0.0, scale: float = 1.0,
                 shift: float = 1.0, noise=None):
    """E_{t, ε} ||f(x_t, t) − target||², the plain MSE in the prediction's own space, averaged over
    all elements. t = process.train_time(u), u from flow.rectified_flow.sample_time (uniform or
    logit-normal, SD3 shift). model_fn(x_t [B,...], t [B]) -> output like x_t. x0: [B, H, W, C].
    noise: the ε to pair with x0 (reflow's coupling); None draws it. The keys are split as in
    flow_matching_loss, so for the rectified-flow path with prediction "velocity" the two agree."""
    k_t, k_z = jax.random.split(key)
    if sampling == "log_normal":  # EDM sec. 5: ln σ̃ ~ N(mean, scale²), σ̃ = σ/α, mapped to t
        log_sigma = mean + scale * jax.random.normal(k_t, (x0.shape[0],))
        t = jnp.clip(process.t_of_logsnr(-2.0 * log_sigma), process.t_min, process.t_max)
    else:
        t = process.train_time(sample_time(k_t, x0.shape[0], sampling, mean, scale, shift))
    eps = jax.random.normal(k_z, x0.shape, x0.dtype) if noise is None else noise
    coef = broadcast_coefficients(process, t, x0)
    x_t = coef[0] * x0 + coef[1] * eps
    out = model_fn(x_t, t)
    return jnp.mean((out - from_x0_eps(prediction, x0, eps, *coef)) ** 2)


@dataclasses.dataclass(frozen=True)
class GeneralDiffusionObjective:
    model: nn.Module                 # called as model(x_t, t·time_scale, labels, train=...)
    process: Process                 # α_t, σ_t (process.py)
    image_shape: tuple               # (H, W, C)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    prediction: str = "eps"          # eps | x0 | v | velocity | score
    time_sampling: str = "uniform"   # training u: uniform | logit_normal, then t = process.train_time(u)
    logit_mean: float = 0.0
    logit_scale: float = 1.0
    shift: float = 1.0               # SD3 shift of the training u (1: none)
    time_scale: float = 1000.0       # t ∈ [0, 1] enters the network as t·time_scale
    num_classes: int | None = None   # class-conditional when set; label num_classes = null class
    cond_drop_prob: float = 0.0      # classifier-free guidance: P(label -> null) in training
    ema_decay: float = 0.999
    vp_timesteps: int = 1000         # entries of the VP view's table (DDPM processes: their own T)
    preview_sampler: str = "ddim"
    preview_steps: int = 20

    def __post_init__(self):
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"objective.prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.time_sampling not in TIME_SAMPLINGS:
            raise ValueError(f"objective.time_sampling must be one of {TIME_SAMPLINGS}, "
                             f"got {self.time_sampling!r}")
        if not 0.0 <= self.cond_drop_prob <= 1.0:
            raise ValueError(f"objective.cond_drop_prob must be in [0, 1], got {self.cond_drop_prob}")

    @property
    def schedule(self):
        """The VP view (a DiscreteSchedule) the samplers of gen_jax/samplers run on."""
        from gen_jax.diffusion.process import DiscreteVP

        if isinstance(self.process, DiscreteVP):
            return self.process.vp_schedule()
        return self.process.vp_schedule(self.vp_timesteps)

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.float32)
        labels = jnp.zeros((batch_size,), jnp.int32) if self.num_classes else None
        params = self.model.init({"params": k_params}, x, t, labels, train=False)["params"]
        return create_state(params, self.tx, k_state)

    def _apply(self, params, x_t, t, labels, rngs=None):
        if self.prediction == "edm":  # EDM's c_in: the network sees unit-variance inputs
            alpha, sigma = self.process.alpha_sigma(t)
            x_t = x_t * input_scale("edm", alpha, sigma).reshape((-1,) + (1,) * (x_t.ndim - 1))
        return self.model.apply({"params": params}, x_t, t * self.time_scale, labels,
                                train=rngs is not None, rngs=rngs)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on {"image": [B,H,W,C], "label": [B] (optional), "noise": [B,H,W,C]
        (optional: the ε paired with each image, e.g. reflow pairs)}."""

        def loss_fn(params, key):
            k_loss, k_drop, k_cfg = jax.random.split(key, 3)
            labels = batch.get("label") if self.num_classes else None
            if labels is not None and self.cond_drop_prob > 0:
                drop = jax.random.bernoulli(k_cfg, self.cond_drop_prob, labels.shape)
                labels = jnp.where(drop, self.num_classes, labels)
            model_fn = lambda x_t, t: self._apply(params, x_t, t, labels, {"dropout": k_drop})
            return process_loss(model_fn, self.process, self.prediction, batch["image"], k_loss,
                                sampling=self.time_sampling, mean=self.logit_mean,
                                scale=self.logit_scale, shift=self.shift, noise=batch.get("noise"))

        return gradient_step(state, loss_fn, self.tx, self.lr_schedule, self.ema_decay)

    # --- sampling -------------------------------------------------------------------------
    def model_fn(self, params, labels=None, guidance=1.0):
        """(x_t, t [B]) -> the network's prediction, with classifier-free guidance at scale w
        (w = 0 unconditional, 1 conditional, > 1 guided; Ho & Salimans 2022): guidance is linear
        in the output, so it commutes with every (affine) conversion of process.py."""

        def f(x_t, t):
            if labels is None or not self.num_classes:
                return self._apply(params, x_t, t, None)
            null = jnp.full_like(labels, self.num_classes)
            return cfg_apply(lambda x, s, y: self._apply(params, x, s, y), x_t, t, labels, null,
                             guidance)

        return f

    def views(self, params, labels=None, guidance=1.0) -> Views:
        """The model as every sampler sees it: VP view on self.schedule and rectified-flow view
        (gen_jax.samplers.views)."""
        return views_of(self.model_fn(params, labels, guidance), self.process, self.prediction,
                        self.vp_timesteps)

    def denoiser(self, params, labels=None, guidance=1.0):
        """(x_vp, t_idx) -> (x0_hat, eps_hat) on self.schedule."""
        return self.views(params, labels, guidance).denoise

    def velocity(self, params, labels=None, guidance=1.0):
        """(x_rf, t_rf) -> rectified-flow velocity ε − x0."""
        return self.views(params, labels, guidance).velocity

    def sample(self, params, key, num: int | None = None, *, sampler: str = "ddim", num_steps=50,
               labels=None, guidance=1.0, **options):
        """Images [N, H, W, C] clipped to [-1, 1]. key: one key (with num) or per-sample keys
        [N, 2]; sample b depends only on its key (and label). sampler: any name in
        gen_jax.samplers.SAMPLERS, on this process's VP or rectified-flow view; **options are
        that sampler's own (None: its default)."""
        return draw(sampler, self.views(params, labels, guidance), key, self.image_shape, num,
                    num_steps, **given(**options))

    def noise(self, key, num: int | None = None):
        """The samplers' starting noise [N, H, W, C]: sample b's from its own key."""
        return noise(key, self.image_shape, num)

    def preview(self, params, key, num: int):
        labels = jnp.arange(num) % self.num_classes if self.num_classes else None
        return self.sample(params, key, num, sampler=self.preview_sampler,
                           num_steps=self.preview_steps, labels=labels)
