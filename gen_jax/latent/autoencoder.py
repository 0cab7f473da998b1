"""The KL-autoencoder objective of latent diffusion (Rombach et al. 2022, appendix G; taming's
LPIPSWithDiscriminator without the perceptual term): reconstruction (L1 or L2) + a small KL to
N(0, I) + a PatchGAN adversarial term that is switched on after `disc_start` steps, weighted by a
fixed or an adaptive factor (Esser et al. 2021, eq. 7). Two optimisers, one `step`, run by the
shared training loop (as the GAN objective does).

One step: the autoencoder update (one forward pass, two backward passes through jax.vjp: the
reconstruction+KL gradient and the adversarial gradient, combined with the adversarial weight),
then the discriminator update on the same real batch and the (pre-update) reconstruction.
Before disc_start the adversarial weight is exactly 0 and the discriminator is not updated.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import optax

from gen_jax.gan.losses import LOSSES, d_loss, g_loss
from gen_jax.nn.autoencoder import AutoencoderKL, PatchDiscriminator
from gen_jax.train.state import TrainState, ema_update
from gen_jax.vae.objective import gaussian_kl, reparameterize

RECONSTRUCTIONS = ("l1", "l2")


def diagonal_gaussian_kl(mean, logvar):
    """KL(N(mean, diag exp(logvar)) || N(0, I)) per sample, summed over every latent element:
    mean, logvar [B, h, w, c] -> [B] (closed form, Kingma & Welling 2014, appendix B)."""
    b = mean.shape[0]
    return gaussian_kl(mean.reshape(b, -1), logvar.reshape(b, -1))


def reconstruction_error(x_hat, x, kind: str):
    """Mean over the batch and pixels of |x̂ − x| (l1) or (x̂ − x)² (l2)."""
    if kind == "l1":
        return jnp.mean(jnp.abs(x_hat - x))
    if kind == "l2":
        return jnp.mean((x_hat - x) ** 2)
    raise ValueError(f"objective.reconstruction must be one of {RECONSTRUCTIONS}, got {kind!r}")


def adaptive_weight(grad_rec, grad_adv, max_weight: float = 1e4):
    """λ = ||∇_L L_rec|| / (||∇_L L_adv|| + 1e-4) at the decoder's last layer L, clipped to
    [0, max_weight] and not differentiated (Esser et al. 2021, eq. 7)."""
    lam = optax.tree.norm(grad_rec) / (optax.tree.norm(grad_adv) + 1e-4)
    return jax.lax.stop_gradient(jnp.clip(lam, 0.0, max_weight))


def latent_scale(latents) -> jax.Array:
    """The latent scale factor 1 / std(latents) over every element of a batch [B, h, w, c]
    (Rombach et al. 2022, sec. G: the latents are rescaled to unit variance before diffusion)."""
    return 1.0 / jnp.std(latents)


@dataclasses.dataclass(frozen=True)
class AutoencoderObjective:
    model: AutoencoderKL
    discriminator: PatchDiscriminator
    image_shape: tuple               # (H, W, C)
    tx: optax.GradientTransformation  # the autoencoder's optimiser
    tx_d: optax.GradientTransformation  # the discriminator's
    lr_schedule: Callable
    lr_schedule_d: Callable
    reconstruction: str = "l1"       # l1 | l2, mean per pixel
    kl_weight: float = 1e-6          # weight of the KL (summed over latents / number of pixels)
    disc_loss: str = "hinge"         # a name in gen_jax.gan.losses.LOSSES
    disc_start: int = 1000           # steps before the adversarial term (and D's training) starts;
                                     # D's optimiser (and its warm-up) starts counting then
    disc_weight: float = 0.5         # fixed weight, or the factor on the adaptive one
    adaptive: bool = True            # λ from the gradient norms at the decoder's last layer
    ema_decay: float = 0.999
    num_classes: None = None         # unconditional (main.run reads this)

    def __post_init__(self):
        if self.reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"objective.reconstruction must be one of {RECONSTRUCTIONS}, "
                             f"got {self.reconstruction!r}")
        if self.disc_loss not in LOSSES or self.disc_loss == "wgan-gp":
            raise ValueError(f"objective.disc_loss must be one of {LOSSES[:3]}, got {self.disc_loss!r}")

    @property
    def latent_shape(self) -> tuple:
        return self.model.latent_shape

    # --- training -------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> TrainState:
        """TrainState with params = {"ae", "d"}, opt_state = {"ae", "d"}, ema_params = the EMA of
        the autoencoder's parameters (what encode/decode/preview take)."""
        k_ae, k_d, k_state = jax.random.split(key, 3)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        ae = self.model.init({"params": k_ae}, x, method=AutoencoderKL.init_all)["params"]
        d = self.discriminator.init({"params": k_d}, x)["params"]
        return TrainState(step=jnp.zeros((), jnp.int32), params={"ae": ae, "d": d},
                          ema_params=jax.tree.map(jnp.copy, ae),
                          opt_state={"ae": self.tx.init(ae), "d": self.tx_d.init(d)},
                          rng=jnp.asarray(k_state))

    def _critic(self, d_params, x):
        return self.discriminator.apply({"params": d_params}, x).reshape(-1)

    def losses(self, ae_params, d_params, x, key):
        """((reconstruction + kl_weight·KL, adversarial generator loss), (x̂, metrics)) for
        x [B, H, W, C] in [-1, 1], with z sampled from the posterior."""
        mean, logvar = self.model.apply({"params": ae_params}, x, method=AutoencoderKL.encode)
        z = reparameterize(key, mean, logvar)
        x_hat = self.model.apply({"params": ae_params}, z, method=AutoencoderKL.decode)
        rec = reconstruction_error(x_hat, x, self.reconstruction)
        kl = jnp.mean(diagonal_gaussian_kl(mean, logvar)) / x[0].size
        adv = g_loss(self.disc_loss, self._critic(d_params, x_hat))
        mse = jnp.mean((jnp.clip(x_hat, -1, 1) - x) ** 2)
        metrics = {"reconstruction": rec, "kl": kl, "g_loss": adv,
                   "psnr": 10.0 * jnp.log10(4.0 / jnp.maximum(mse, 1e-10))}
        return (rec + self.kl_weight * kl, adv), (x_hat, metrics)

    def adversarial_weight(self, grads_rec, grads_adv, step):
        """The weight of the adversarial term at `step`: exactly 0 before disc_start, then
        disc_weight (fixed) or disc_weight·λ (adaptive)."""
        if self.adaptive:
            last = lambda g: g["decoder"]["conv_out"]["kernel"]  # noqa: E731
            w = self.disc_weight * adaptive_weight(last(grads_rec), last(grads_adv))
        else:
            w = jnp.asarray(self.disc_weight, jnp.float32)
        return jnp.where(step >= self.disc_start, w, 0.0)

    def step(self, state: TrainState, batch: dict):
        """One autoencoder update, then one discriminator update. batch: {"image": [B,H,W,C]}."""
        key = jax.random.fold_in(state.rng, state.step)
        x = batch["image"]
        ae, d = state.params["ae"], state.params["d"]
        active = state.step >= self.disc_start

        (rec_total, adv), vjp, (x_hat, metrics) = jax.vjp(
            lambda p: self.losses(p, d, x, key), ae, has_aux=True)
        one, zero = jnp.ones_like(rec_total), jnp.zeros_like(adv)
        (grads_rec,) = vjp((one, zero))
        (grads_adv,) = vjp((zero, one))
        w = self.adversarial_weight(grads_rec, grads_adv, state.step)
        # where, not a product: before disc_start the update is exactly the reconstruction one
        grads = jax.tree.map(lambda r, a: jnp.where(active, r + w * a, r), grads_rec, grads_adv)
        updates, opt_ae = self.tx.update(grads, state.opt_state["ae"], ae)
        ae_new = optax.apply_updates(ae, updates)

        fake = jax.lax.stop_gradient(x_hat)

        def loss_d(d_params):
            f_real, f_fake = self._critic(d_params, x), self._critic(d_params, fake)
            return d_loss(self.disc_loss, f_real, f_fake), (jnp.mean(f_real), jnp.mean(f_fake))

        (ld, (d_real, d_fake)), grads_d = jax.value_and_grad(loss_d, has_aux=True)(d)
        upd_d, opt_d = self.tx_d.update(grads_d, state.opt_state["d"], d)
        d_new = optax.apply_updates(d, upd_d)
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(active, a, b), new, old)  # noqa: E731
        d_new, opt_d = keep(d_new, d), keep(opt_d, state.opt_state["d"])

        ema = ema_update(state.ema_params, ae_new, self.ema_decay, state.step)
        metrics = {"loss": rec_total + w * adv, **metrics, "adv_weight": w, "d_loss": ld,
                   "d_real": d_real, "d_fake": d_fake, "grad_norm": optax.tree.norm(grads),
                   "learning_rate": self.lr_schedule(state.step),
                   "d_learning_rate": self.lr_schedule_d(jnp.maximum(state.step - self.disc_start, 0))}
        state = state.replace(step=state.step + 1, params={"ae": ae_new, "d": d_new},
                              ema_params=ema, opt_state={"ae": opt_ae, "d": opt_d})
        return state, metrics

    # --- using it -------------------------------------------------------------------------
    def encode(self, params, x):
        """x [B, H, W, C] in [-1, 1] -> (mean, logvar), each [B, H/f, W/f, latent_channels].
        params: the autoencoder's (state.ema_params)."""
        return self.model.apply({"params": params}, x, method=AutoencoderKL.encode)

    def decode(self, params, z):
        """z [B, H/f, W/f, latent_channels] -> images [B, H, W, C] clipped to [-1, 1]."""
        return jnp.clip(self.model.apply({"params": params}, z, method=AutoencoderKL.decode), -1.0, 1.0)

    def reconstruct(self, params, x):
        """decode(posterior mean): the deterministic reconstruction."""
        return self.decode(params, self.encode(params, x)[0])

    def latent_scale(self, params, images):
        """1 / std of the posterior means of images [B, H, W, C] (a batch of training images)."""
        return latent_scale(self.encode(params, images)[0])

    def preview(self, params, key, num: int):
        """Decoded N(0, I) latents: what the decoder makes of the prior, for the training loop's
        grids (an autoencoder has no sampler; its reconstructions need data)."""
        z = jax.random.normal(key, (num, *self.latent_shape))
        return self.decode(params, z)
