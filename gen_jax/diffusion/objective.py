"""The diffusion objective: a network trained on any noise path of process.py (DDPM's tables, the
VP/VE SDEs, EDM, rectified flow) in any prediction target, conditioned by gen_jax.conditioning,
sampled by every sampler of gen_jax.samplers through the views of gen_jax.samplers.views. DDPM,
rectified flow and text-to-image are configurations of it (the presets at the end of this file and
in flow/objective.py, diffusion/general_objective.py, */text_objective.py). The training loop
calls init / step / preview and, for the final grid, sample."""

from __future__ import annotations

import dataclasses
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from gen_jax.conditioning import (UNCONDITIONAL, Conditioner, TextTokens, Unconditional,
                                  class_labels)
from gen_jax.diffusion import losses
from gen_jax.diffusion.process import (PREDICTIONS, Process, RectifiedFlowPath, TableVP,
                                       broadcast_coefficients, from_x0_eps, input_scale)
from gen_jax.flow.rectified_flow import sample_time
from gen_jax.objective import given
from gen_jax.samplers import registry
from gen_jax.samplers.ddpm_ddim import make_denoiser
from gen_jax.samplers.views import Views, draw, noise, views_of, vp_table
from gen_jax.train.state import TrainState, create_state, gradient_step

# training times: u uniform / logit-normal (SD3) then t = process.train_time(u); log_normal: EDM's
# ln σ̃ ~ N(mean, scale²); discrete: DDPM's table index k ~ U{0..T−1} at t = (k + 1)/T
TIME_SAMPLINGS = ("uniform", "logit_normal", "log_normal", "discrete")
# the sampler of `sample` when none is named, by the view the network is native to
DEFAULT_SAMPLER = {"vp": "ddim", "rf": "rf_euler"}


def process_loss(model_fn: Callable, process: Process, prediction: str, x0, key, *,
                 sampling: str = "uniform", mean: float = 0.0, scale: float = 1.0,
                 shift: float = 1.0, noise=None):
    """E_{t, ε} ||f(x_t, t) − target||², the plain MSE in the prediction's own space, averaged over
    all elements, t drawn by `sampling` (TIME_SAMPLINGS; shift: SD3's, on uniform/logit_normal).
    model_fn(x_t [B,...], t [B]) -> output like x_t. x0: [B, H, W, C]. noise: the ε to pair with
    x0 (reflow's coupling); None draws it. The keys are split as in flow_matching_loss and
    losses.diffusion_loss, so on their path and prediction the three agree."""
    k_t, k_z = jax.random.split(key)
    if sampling == "log_normal":  # EDM sec. 5: ln σ̃ ~ N(mean, scale²), σ̃ = σ/α, mapped to t
        log_sigma = mean + scale * jax.random.normal(k_t, (x0.shape[0],))
        t = jnp.clip(process.t_of_logsnr(-2.0 * log_sigma), process.t_min, process.t_max)
    elif sampling == "discrete":
        T = process.num_timesteps
        t = (jax.random.randint(k_t, (x0.shape[0],), 0, T) + 1.0) / T
    else:
        t = process.train_time(sample_time(k_t, x0.shape[0], sampling, mean, scale, shift))
    eps = jax.random.normal(k_z, x0.shape, x0.dtype) if noise is None else noise
    coef = broadcast_coefficients(process, t, x0)
    x_t = coef[0] * x0 + coef[1] * eps
    out = model_fn(x_t, t)
    return jnp.mean((out - from_x0_eps(prediction, x0, eps, *coef)) ** 2)


@dataclasses.dataclass(frozen=True, init=False)
class DiffusionObjective:
    model: nn.Module                 # called as model(x, time, cond, train=...) -> prediction
    process: Process                 # α_t, σ_t (process.py)
    image_shape: tuple               # (H, W, C)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    prediction: str = "eps"          # a name in process.PREDICTIONS
    time_sampling: str = "uniform"   # TIME_SAMPLINGS
    logit_mean: float = 0.0          # logit-normal location (SD3: 0); log_normal: EDM's P_mean
    logit_scale: float = 1.0         # logit-normal scale (SD3: 1); log_normal: EDM's P_std
    shift: float = 1.0               # SD3 shift of the training u (1: none)
    time_scale: float | None = None  # t enters the network as t·time_scale; None: a table
                                     # process's index k = t·T − 1 (DDPM), else t·1000
    conditioner: Conditioner = UNCONDITIONAL  # gen_jax.conditioning: none, labels or text
    cond_drop_prob: float = 0.0      # classifier-free guidance: P(cond -> null) in training
    ema_decay: float = 0.999
    vp_timesteps: int = 1000         # entries of the VP view's table (table processes: their own T)
    preview_sampler: str = "ddim"    # the training loop's preview grids
    preview_steps: int = 20
    sample_shift: float = 1.0        # SD3 shift of the rf_* samplers when sample() gets none
    learned_sigma: bool = False      # the network outputs [prediction, variance] along channels
                                     # (improved DDPM, DiT: 2C); the loss and samplers use the
                                     # prediction, as diffusers' DiTPipeline (no L_vlb term)

    def __init__(self, *, schedule=None, num_classes=None, tokenizer=None, preview_prompts=(),
                 **fields):
        """Fields by keyword; besides them, the DDPM form's schedule (a DiscreteSchedule: process
        TableVP(schedule), DDPM's discrete times and the index as the network's time, previews of
        min(50, T) DDIM steps) and the conditioner as num_classes or tokenizer (+ preview_prompts)."""
        if schedule is not None:
            fields = {"process": TableVP(schedule), "time_sampling": "discrete",
                      "preview_steps": min(50, schedule.num_timesteps), **fields}
        if num_classes or tokenizer is not None:
            if not isinstance(fields.get("conditioner", UNCONDITIONAL), Unconditional):
                raise ValueError("objective: give conditioner or num_classes/tokenizer, not both")
            fields["conditioner"] = (TextTokens(tokenizer, tuple(preview_prompts))
                                     if tokenizer is not None else class_labels(num_classes))
        for f in dataclasses.fields(self):
            if f.name in fields:
                object.__setattr__(self, f.name, fields.pop(f.name))
            elif f.default is dataclasses.MISSING:
                raise TypeError(f"DiffusionObjective needs {f.name}")
            else:
                object.__setattr__(self, f.name, f.default)
        if fields:
            raise TypeError(f"DiffusionObjective got unexpected fields {sorted(fields)}")
        self._validate()

    def _validate(self):
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"objective.prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        if self.time_sampling not in TIME_SAMPLINGS:
            raise ValueError(f"objective.time_sampling must be one of {TIME_SAMPLINGS}, "
                             f"got {self.time_sampling!r}")
        if not 0.0 <= self.cond_drop_prob <= 1.0:
            raise ValueError(f"objective.cond_drop_prob must be in [0, 1], got {self.cond_drop_prob}")
        if self.time_sampling == "discrete" and not isinstance(self.process, TableVP):
            raise ValueError("objective.time_sampling 'discrete' needs a table process (DDPM), "
                             f"got {type(self.process).__name__}")
        if self._indexed and self.prediction not in losses.PREDICTIONS:
            raise ValueError(f"objective.prediction of a network on DDPM's table index must be one "
                             f"of {losses.PREDICTIONS}, got {self.prediction!r}")

    # --- what other code reads -------------------------------------------------------------
    @property
    def _indexed(self) -> bool:
        """The network takes the table index k = t·T − 1 (DDPM) rather than t·time_scale."""
        return self.time_scale is None and isinstance(self.process, TableVP)

    @property
    def native_view(self) -> str:
        """The sampler view native to the process: "rf" (rectified-flow time, where rf_* samplers
        integrate the network's velocity) for the rectified-flow path, "vp" for the others."""
        return "rf" if isinstance(self.process, RectifiedFlowPath) else "vp"

    @property
    def schedule(self):
        """The VP view (a DiscreteSchedule) the samplers of gen_jax/samplers run on."""
        return vp_table(self.process, self.vp_timesteps)

    @property
    def num_classes(self) -> int | None:
        return self.conditioner.num_classes

    @property
    def tokenizer(self):
        return getattr(self.conditioner, "tokenizer", None)

    @property
    def preview_prompts(self) -> tuple:
        return getattr(self.conditioner, "preview_prompts", ())

    def empty_tokens(self, batch: int):
        """The null condition [batch, ...] (text: the empty prompt)."""
        return self.conditioner.null(batch)

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TrainState:
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.int32 if self._indexed else jnp.float32)
        params = self.model.init({"params": k_params}, x, t, self.conditioner.dummy(batch_size),
                                 train=False)["params"]
        return create_state(params, self.tx, k_state)

    def _apply(self, params, x_t, t, cond, rngs=None):
        """The network's prediction at x_t [B, ...] and time t [B]: the table index k when
        _indexed, else the process time (fed as t·time_scale, after EDM's c_in)."""
        if not self._indexed:
            if self.prediction == "edm":  # EDM's c_in: the network sees unit-variance inputs
                alpha, sigma = self.process.alpha_sigma(t)
                x_t = x_t * input_scale("edm", alpha, sigma).reshape((-1,) + (1,) * (x_t.ndim - 1))
            t = t * (self.time_scale or 1000.0)
        out = self.model.apply({"params": params}, x_t, t, cond, train=rngs is not None, rngs=rngs)
        return out[..., : x_t.shape[-1]] if self.learned_sigma else out

    def _time(self, t):
        """Process time t -> the time _apply takes (identity unless _indexed)."""
        return t * self.process.num_timesteps - 1.0 if self._indexed else t

    def loss(self, params, batch: dict, key):
        """The loss on {"image": [B,H,W,C], "label" [B] or "tokens" [B, L] (as the conditioner
        reads), "noise": [B,H,W,C] (optional: the ε paired with each image, e.g. reflow pairs)}."""
        k_loss, k_drop, k_cfg = jax.random.split(key, 3)
        c = self.conditioner
        cond = c.drop(k_cfg, c.of_batch(batch), self.cond_drop_prob)
        time = self._time
        if self.time_sampling == "discrete" and self._indexed:  # DDPM's integer k, exactly
            time = lambda t: jnp.round(self._time(t)).astype(jnp.int32)  # noqa: E731
        model_fn = lambda x_t, t: self._apply(params, x_t, time(t), cond, {"dropout": k_drop})  # noqa: E731
        return process_loss(model_fn, self.process, self.prediction, batch["image"], k_loss,
                            sampling=self.time_sampling, mean=self.logit_mean,
                            scale=self.logit_scale, shift=self.shift, noise=batch.get("noise"))

    def step(self, state: TrainState, batch: dict):
        """One optimiser step on a batch (see loss)."""
        return gradient_step(state, lambda p, k: self.loss(p, batch, k), self.tx, self.lr_schedule,
                             self.ema_decay)

    # --- sampling -------------------------------------------------------------------------
    def guided_model(self, params, labels=None, guidance=1.0, negative_labels=None):
        """(x_t, t) -> the network's prediction at _apply's time (DDPM: the table index), with
        classifier-free guidance at scale w (conditioning.Conditioner.guided; negative_labels
        replace the null condition)."""
        apply = lambda x, s, c: self._apply(params, x, s, c)  # noqa: E731
        return self.conditioner.guided(apply, labels, guidance, negative_labels)

    def views(self, params, labels=None, guidance=1.0, negative_labels=None) -> Views:
        """The guided model as every sampler sees it (gen_jax.samplers.views): the VP view (DDPM:
        the network on its own table index) and the rectified-flow view."""
        f = self.guided_model(params, labels, guidance, negative_labels)
        native = make_denoiser(f, self.schedule, self.prediction) if self._indexed else None
        return views_of(lambda x_t, t: f(x_t, self._time(t)), self.process, self.prediction,
                        self.vp_timesteps, denoise=native)

    def denoiser(self, params, labels=None, guidance=1.0, negative_labels=None):
        """(x_vp, t_idx) -> (x0_hat, eps_hat) on self.schedule (the VP view)."""
        return self.views(params, labels, guidance, negative_labels).denoise

    def velocity(self, params, labels=None, guidance=1.0, negative_labels=None):
        """(x_rf, t_rf) -> the rectified-flow velocity ε − x0 (the rf view)."""
        return self.views(params, labels, guidance, negative_labels).velocity

    def sample(self, params, key, num: int | None = None, *, sampler: str | None = None,
               num_steps=50, labels=None, guidance=1.0, negative_labels=None, guide=None,
               **options):
        """Images [N, H, W, C] clipped to [-1, 1]. key: one key (with num) or per-sample keys
        [N, 2]; sample b depends only on its key (and condition), never on N or the device count.

        sampler: any name in gen_jax.samplers.SAMPLERS (default: DEFAULT_SAMPLER of native_view);
        **options are that sampler's own (None: its default; the rf_* samplers' shift defaults
        to sample_shift). labels: the condition ([N] labels, [N, L] tokens). guide: denoiser ->
        denoiser applied before sampling (e.g. classifier guidance)."""
        sampler = sampler or DEFAULT_SAMPLER[self.native_view]
        options = given(**options)
        if registry.get(sampler).view == "rf":
            options.setdefault("shift", self.sample_shift)
        views = self.views(params, labels, guidance, negative_labels)
        if guide is not None:
            views = views.map_denoise(guide)
        return draw(sampler, views, key, self.image_shape, num, num_steps, **options)

    def noise(self, key, num: int | None = None):
        """The samplers' starting noise [N, H, W, C]: sample b's from its own key."""
        return noise(key, self.image_shape, num)

    def preview(self, params, key, num: int):
        """A quick grid for the training loop: preview_sampler, preview_steps, the conditioner's
        preview conditions (labels cycling, preview_prompts)."""
        return self.sample(params, key, num, sampler=self.preview_sampler,
                           num_steps=self.preview_steps, labels=self.conditioner.preview(num))

