"""Latent diffusion (Rombach et al. 2022): a DDPM or rectified-flow objective, with any backbone
and sampler, trained on the scaled latents z = scale·E(x) of a frozen KL autoencoder, and sampled
in latent space, then decoded: x = D(z / scale).

The wrapped objective is built for the latent shape (H/f, W/f, c). The training loop's state is
the wrapped objective's; the autoencoder's parameters are frozen constants of this objective.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from gen_jax.diffusion.objective import DEFAULT_SAMPLER
from gen_jax.latent.autoencoder import AutoencoderObjective
from gen_jax.objective import given
from gen_jax.samplers import registry
from gen_jax.samplers.views import draw
from gen_jax.vae.objective import reparameterize

_POSTERIOR_STREAM = 0x1A7E  # folds the step key of the posterior noise away from the inner step's


@dataclasses.dataclass(frozen=True, eq=False)
class LatentDiffusionObjective:
    inner: Any                       # a DiffusionObjective (DDPM, flow, ...) over latent shapes
    autoencoder: AutoencoderObjective
    ae_params: Any                   # the frozen autoencoder's parameters (its EMA params)
    scale: float                     # latent scale factor: the inner objective sees scale·E(x)
    sample_posterior: bool = True    # train on z ~ q(z|x) (as Stable Diffusion) or on its mean

    @property
    def image_shape(self) -> tuple:
        """The decoded images' shape (H, W, C)."""
        return tuple(self.autoencoder.image_shape)

    @property
    def latent_shape(self) -> tuple:
        return tuple(self.inner.image_shape)

    @property
    def num_classes(self):
        return self.inner.num_classes

    def __getattr__(self, name):
        # the wrapped objective's VP table, velocity and native view tell experiments.sample
        # which samplers the run uses; anything else is not delegated.
        if name in ("schedule", "velocity", "native_view"):
            return getattr(self.inner, name)
        raise AttributeError(name)

    # --- the autoencoder ------------------------------------------------------------------
    def encode(self, x, key=None):
        """x [B, H, W, C] in [-1, 1] -> scaled latents [B, h, w, c]: scale·(z ~ q(z|x)) when key
        is given (and sample_posterior), else scale·mean."""
        mean, logvar = self.autoencoder.encode(self.ae_params, x)
        z = reparameterize(key, mean, logvar) if key is not None and self.sample_posterior else mean
        return jax.lax.stop_gradient(self.scale * z)

    def decode(self, z):
        """Scaled latents [B, h, w, c] -> images [B, H, W, C] in [-1, 1]."""
        return self.autoencoder.decode(self.ae_params, z / self.scale)

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2):
        return self.inner.init(key, batch_size)

    def step(self, state, batch: dict):
        """Encode the batch's images, then the wrapped objective's step on the latents."""
        key = jax.random.fold_in(jax.random.fold_in(state.rng, _POSTERIOR_STREAM), state.step)
        return self.inner.step(state, {**batch, "image": self.encode(batch["image"], key)})

    # --- sampling -------------------------------------------------------------------------
    def sample_latents(self, params, key, num: int | None = None, *, sampler: str | None = None,
                       num_steps=50, labels=None, guidance=1.0, guide=None, **options):
        """Scaled latents [N, h, w, c] from the wrapped objective's model on any sampler of
        gen_jax.samplers.SAMPLERS (default: the inner objective's), without the pixel range
        clipping (latents are not in [-1, 1]). **options are the sampler's own (and
        negative_labels). key: one key (with num) or keys [N, 2]."""
        sampler = sampler or DEFAULT_SAMPLER[self.inner.native_view]
        options = given(**options)
        cond = {k: options.pop(k) for k in ("negative_labels",) if k in options}
        views = self.inner.views(params, labels, guidance, **cond)
        if guide is not None:
            views = views.map_denoise(guide)
        spec = registry.get(sampler)
        if spec.view == "rf":
            options.setdefault("shift", self.inner.sample_shift)
        if "clip_x0" in spec.options:
            options.setdefault("clip_x0", False)
        return draw(sampler, views, key, self.latent_shape, num, num_steps, clip=False, **options)

    def sample(self, params, key, num: int | None = None, *, sampler: str | None = None,
               num_steps=50, labels=None, guidance=1.0, guide=None, **options):
        """Images [N, H, W, C] in [-1, 1]: sample_latents(...) decoded. Sample b depends only on
        its key (and label), never on N."""
        return self.decode(self.sample_latents(params, key, num, sampler=sampler, num_steps=num_steps,
                                               labels=labels, guidance=guidance, guide=guide, **options))

    def preview(self, params, key, num: int):
        """The wrapped objective's preview sampler, in latent space, decoded."""
        return self.sample(params, key, num, sampler=self.inner.preview_sampler,
                           num_steps=self.inner.preview_steps,
                           labels=self.inner.conditioner.preview(num))
