"""The ControlNet objective (Zhang et al. 2023): the base objective's loss (DDPM ε/x0/v, flow
matching, ...) with the base U-Net frozen and a ControlNet, fed the condition map of each training
image, trained alone. The training loop calls init / step / preview and nothing else.

State: params = {"base": frozen U-Net params, "control": ControlNet params}; only "control" has
an optimiser state and an EMA, and "base" leaves every step bit-identical. The condition map
("hint") is an input, never a parameter: the combined model (_Controlled) is the base U-Net and
the ControlNet bound to a batch's maps, and the base objective's loss and samplers run on it.
Classifier-free guidance drops the label, not the map (as in ControlNet's practice).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from gen_jax.nn.controlnet import ControlNet, copy_encoder_params
from gen_jax.nn.unet import UNet
from gen_jax.train.state import TrainState, gradient_step
from gen_jax.utils.conditions import condition_map


@dataclasses.dataclass(frozen=True)
class _Controlled:
    """The base U-Net with ControlNet residuals on the condition map hint [B', H, W, Ch] (an input
    bound here, as functools.partial would), called like a linen module by the base objective:
    apply({"params": {"base", "control"}}, x [B,H,W,C], t, labels, ...)."""

    unet: UNet
    controlnet: ControlNet
    hint: Any = dataclasses.field(default=None, compare=False, repr=False)

    def apply(self, variables, x, t, labels=None, train: bool = False, rngs=None):
        p = variables["params"]
        hint = self.hint
        if hint.shape[0] != x.shape[0]:  # classifier-free guidance stacks [cond; uncond] batches
            hint = jnp.tile(hint, (x.shape[0] // hint.shape[0], 1, 1, 1))
        control = self.controlnet.apply({"params": p["control"]}, x, hint, t, labels, train=train,
                                        rngs=rngs)
        return self.unet.apply({"params": p["base"]}, x, t, labels, train=train, rngs=rngs,
                               control=control)


@dataclasses.dataclass(frozen=True)
class ControlNetObjective:
    base: Any                        # a DiffusionObjective (DDPM, flow, ...) whose model is a UNet
    controlnet: ControlNet           # controlnet_for(base.model)
    base_params: Any = dataclasses.field(compare=False, repr=False)  # the pretrained U-Net's params
    tx: optax.GradientTransformation = None
    lr_schedule: Callable = None
    condition: str = "edges"         # a name in gen_jax.utils.conditions.CONDITIONS
    threshold: float | None = None   # the condition's threshold (None: its default)
    ema_decay: float = 0.999
    preview_images: Any = dataclasses.field(default=None, compare=False, repr=False)
    # [N, H, W, C] images whose condition maps preview() and sample() without one use

    def __post_init__(self):
        if not isinstance(self.base.model, UNet):
            raise ValueError(f"ControlNet needs a U-Net base model, got {type(self.base.model).__name__}")
        condition_map(self.condition, jnp.zeros((1, 3, 3, 1)), self.threshold)  # validates the name

    @property
    def image_shape(self):
        return self.base.image_shape

    @property
    def num_classes(self):
        return self.base.num_classes

    def controlled(self, hint):
        """The base objective whose network is the combined model on condition maps hint
        [B or 1, H, W, Ch] (params: {"base", "control"})."""
        return dataclasses.replace(self.base, model=_Controlled(self.base.model, self.controlnet, hint))

    def hint(self, x):
        """The condition map [B, H, W, Ch] of images x [B, H, W, C] in [-1, 1]."""
        return condition_map(self.condition, x, self.threshold)

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TrainState:
        """ControlNet encoder copied from the base U-Net, hint encoder random (last conv zero),
        zero convolutions zero."""
        k_params, k_state = jax.random.split(key)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        t = jnp.zeros((batch_size,), jnp.float32)
        labels = jnp.zeros((batch_size,), jnp.int32) if self.num_classes else None
        control = self.controlnet.init({"params": k_params}, x, self.hint(x), t, labels)["params"]
        base = jax.tree.map(jnp.asarray, self.base_params)
        control = copy_encoder_params(control, base)
        return TrainState(step=jnp.zeros((), jnp.int32), params={"base": base, "control": control},
                          ema_params={"base": base, "control": jax.tree.map(jnp.copy, control)},
                          opt_state=self.tx.init(control), rng=jnp.asarray(k_state))

    def loss(self, base_params, control_params, batch: dict, key):
        """The base objective's loss on batch {"image", "label"} through the combined model, the
        condition map computed from batch["image"] (labels dropped as the base was trained)."""
        params = {"base": jax.lax.stop_gradient(base_params), "control": control_params}
        return self.controlled(self.hint(batch["image"])).loss(params, batch, key)

    def step(self, state: TrainState, batch: dict):
        """One optimiser step of the ControlNet; params["base"] is passed through untouched."""
        base = state.params["base"]
        view = state.replace(params=state.params["control"], ema_params=state.ema_params["control"])
        view, metrics = gradient_step(view, lambda p, k: self.loss(base, p, batch, k), self.tx,
                                      self.lr_schedule, self.ema_decay)
        return view.replace(params={"base": base, "control": view.params},
                            ema_params={"base": base, "control": view.ema_params}), metrics

    # --- sampling -------------------------------------------------------------------------
    def sample(self, params, key, num: int | None = None, *, control_image=None, hint=None,
               sampler: str = "ddim", num_steps=50, labels=None, guidance=1.0, **options):
        """Images [N, H, W, C] following a condition: hint [N or 1, H, W, Ch] (a condition map), or
        control_image [N or 1, H, W, C] / [H, W, C] (its map is computed); neither: the maps of
        preview_images (cycling). params: {"base", "control"}. sampler, num_steps, labels,
        guidance and **options (the sampler's own) as the base objective's sample."""
        n = num if jnp.ndim(key) == 1 else key.shape[0]
        if hint is None:
            if control_image is None:
                if self.preview_images is None:
                    raise ValueError("sample: give hint or control_image (no preview_images)")
                control_image = jnp.asarray(self.preview_images)[jnp.arange(n) % len(self.preview_images)]
            control_image = jnp.asarray(control_image, jnp.float32)
            if control_image.ndim == 3:
                control_image = control_image[None]
            hint = self.hint(control_image)
        hint = jnp.broadcast_to(hint, (n, *hint.shape[1:]))
        return self.controlled(hint).sample(params, key, num, sampler=sampler, num_steps=num_steps,
                                            labels=labels, guidance=guidance, **options)

    def preview(self, params, key, num: int):
        """The training loop's grid on preview_images' maps: the base objective's preview sampler
        and steps (Euler for rectified flow, DDIM for DDPM), labels cycling."""
        return self.sample(params, key, num, sampler=self.base.preview_sampler,
                           num_steps=self.base.preview_steps, labels=self.base.conditioner.preview(num))
