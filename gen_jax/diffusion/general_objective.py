"""The generalized-diffusion objective: a network trained on any process of process.py in any
prediction target, sampled by every sampler of gen_jax/samplers (on the VP view) and by the
rectified-flow Euler/Heun of gen_jax/flow (on the rectified-flow view). The training loop calls
init / step / preview and, for the final grid, sample."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.samplers.guidance import cfg_apply

from gen_jax.diffusion.process import (PREDICTIONS, Process, RectifiedFlowPath,
                                       broadcast_coefficients, from_x0_eps, to_x0_eps)
from gen_jax.flow.rectified_flow import TIME_SAMPLINGS, sample_time
from gen_jax.flow.samplers import FLOW_SAMPLERS
from gen_jax.samplers import SAMPLERS
from gen_jax.samplers.common import per_sample_keys
from gen_jax.train.state import TrainState, create_state, gradient_step

# sampler name -> flow sampler on the rectified-flow view (the other names are SAMPLERS, VP view)
RF_SAMPLERS = {"rf_" + k: v for k, v in FLOW_SAMPLERS.items()}
ALL_SAMPLERS = tuple(SAMPLERS) + tuple(RF_SAMPLERS)
LOGSNR_MAX = 40.0  # |log-SNR| is clipped here before mapping to t: ±inf at the ends of a path


def process_loss(model_fn: Callable, process: Process, prediction: str, x0, key, *,
                 sampling: str = "uniform", mean: float = 0.0, scale: float = 1.0,
                 shift: float = 1.0, noise=None):
    """E_{t, ε} ||f(x_t, t) − target||², the plain MSE in the prediction's own space, averaged over
    all elements. t = process.train_time(u), u from flow.rectified_flow.sample_time (uniform or
    logit-normal, SD3 shift). model_fn(x_t [B,...], t [B]) -> output like x_t. x0: [B, H, W, C].
    noise: the ε to pair with x0 (reflow's coupling); None draws it. The keys are split as in
    flow_matching_loss, so for the rectified-flow path with prediction "velocity" the two agree."""
    k_t, k_z = jax.random.split(key)
    t = process.train_time(sample_time(k_t, x0.shape[0], sampling, mean, scale, shift))
    eps = jax.random.normal(k_z, x0.shape, x0.dtype) if noise is None else noise
    coef = broadcast_coefficients(process, t, x0)
    x_t = coef[0] * x0 + coef[1] * eps
    out = model_fn(x_t, t)
    return jnp.mean((out - from_x0_eps(prediction, x0, eps, *coef)) ** 2)


def vp_denoiser(model_fn: Callable, process: Process, prediction: str, schedule):
    """denoise(x_vp, t_idx) -> (x0, ε) for the samplers of gen_jax/samplers on `schedule`
    (process.vp_schedule()): x_vp = x_t/√(α² + σ²) at ᾱ = schedule.alpha_bar(t_idx) (int or
    float), whose log-SNR gives the process time t exactly (Karras et al. 2022, sec. 4)."""
    t_hi = process.sample_t_max()

    def denoise(x_vp, t_idx):
        a = schedule.alpha_bar(t_idx)
        logsnr = jnp.clip(jnp.log(a) - jnp.log1p(-a), -LOGSNR_MAX, LOGSNR_MAX)
        t = jnp.clip(process.t_of_logsnr(logsnr), process.t_min, t_hi)
        coef = broadcast_coefficients(process, t, x_vp)
        x_t = x_vp * jnp.sqrt(coef[0] ** 2 + coef[1] ** 2)
        return to_x0_eps(prediction, model_fn(x_t, t).astype(x_t.dtype), x_t, *coef)

    return denoise


def rf_velocity(model_fn: Callable, process: Process, prediction: str):
    """velocity(x_rf, t_rf) -> ε − x0 for the rectified-flow samplers: any path seen as
    x_rf = x_t/(α + σ) at t_rf = σ/(α + σ) (same SNR). For the RF path with velocity prediction
    this is the network itself. t is clipped into the process's range (ε/score predictions stop
    where ᾱ reaches ALPHA_BAR_FLOOR: they cannot give x0 at α = 0)."""
    if isinstance(process, RectifiedFlowPath) and prediction == "velocity":
        return model_fn
    t_lo = max(process.t_min, 1e-5)
    t_hi = process.t_max if prediction in ("x0", "v", "velocity") else process.sample_t_max()

    def velocity(x_rf, t_rf):
        logsnr = jnp.clip(2.0 * (jnp.log1p(-t_rf) - jnp.log(t_rf)), -LOGSNR_MAX, LOGSNR_MAX)
        t = jnp.clip(process.t_of_logsnr(logsnr), t_lo, t_hi)
        coef = broadcast_coefficients(process, t, x_rf)
        x_t = x_rf * (coef[0] + coef[1])
        x0, eps = to_x0_eps(prediction, model_fn(x_t, t).astype(x_t.dtype), x_t, *coef)
        return eps - x0

    return velocity


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

    def denoiser(self, params, labels=None, guidance=1.0):
        """(x_vp, t_idx) -> (x0_hat, eps_hat) on self.schedule (see vp_denoiser)."""
        return vp_denoiser(self.model_fn(params, labels, guidance), self.process, self.prediction,
                           self.schedule)

    def velocity(self, params, labels=None, guidance=1.0):
        """(x_rf, t_rf) -> rectified-flow velocity (see rf_velocity)."""
        return rf_velocity(self.model_fn(params, labels, guidance), self.process, self.prediction)

    def sample(self, params, key, num: int | None = None, *, sampler: str = "ddim", num_steps=50,
               eta=None, labels=None, guidance=1.0, spacing: str = "trailing", shift=1.0,
               debug: bool = False, **ignored):
        """Images [N, H, W, C] clipped to [-1, 1]. key: one key (with num) or per-sample keys
        [N, 2]; sample b depends only on its key (and label). sampler: a name in SAMPLERS (run on
        the VP view; eta and spacing go to those that take them) or rf_euler | rf_heun (the flow
        samplers on the RF view, with the SD3 time shift `shift`)."""
        del ignored
        keys = per_sample_keys(key, num) if jnp.ndim(key) == 1 else key
        x_T = self.noise(keys)
        if sampler in RF_SAMPLERS:
            out = RF_SAMPLERS[sampler](self.velocity(params, labels, guidance), x_T, num_steps,
                                       shift=shift, debug=debug)
            return jnp.clip(out, -1.0, 1.0)
        fn = SAMPLERS.get(sampler)
        if fn is None:
            raise ValueError(f"unknown sampler {sampler!r}; expected one of {list(ALL_SAMPLERS)}")
        step_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
        takes = inspect.signature(fn).parameters
        options = {k: v for k, v in (("eta", eta), ("spacing", spacing)) if v is not None and k in takes}
        out = fn(self.denoiser(params, labels, guidance), self.schedule, x_T, step_keys, num_steps,
                 debug=debug, **options)
        return jnp.clip(out, -1.0, 1.0)

    def noise(self, key, num: int | None = None):
        """The samplers' starting noise [N, H, W, C] (x_T of the VP view, x_1 of the RF view):
        sample b's from its own key."""
        keys = per_sample_keys(key, num) if jnp.ndim(key) == 1 else key
        return jax.vmap(lambda k: jax.random.normal(k, self.image_shape))(keys)

    def preview(self, params, key, num: int):
        labels = jnp.arange(num) % self.num_classes if self.num_classes else None
        return self.sample(params, key, num, sampler=self.preview_sampler,
                           num_steps=self.preview_steps, labels=labels)
