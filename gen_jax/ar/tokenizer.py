"""The VQ-VAE tokenizer's objective (van den Oord et al. 2017): reconstruction + β·commitment,
straight-through gradients through the quantiser, the codebook updated by EMA (no codebook loss)
with dead codes restarted, usage and perplexity logged. Its trained state turns images into a
token grid [B, h, w] and back, for the autoregressive objectives in gen_jax/ar/objective.py."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.struct
import jax
import jax.numpy as jnp
import optax

from gen_jax.nn.vq import (VQVAE, code_usage, ema_codebook_update, init_codebook_state, quantize,
                           restart_dead_codes)
from gen_jax.train.state import TrainState, ema_update


@flax.struct.dataclass
class VQState(TrainState):
    """TrainState plus vq = {"codebook" [K, D], "cluster_size" [K], "embed_sum" [K, D]}.
    ema_params = {"params": EMA of the network's params, "vq": the current codebook state}:
    what encode_tokens / decode_tokens / sample take."""

    vq: Any = None


@dataclasses.dataclass(frozen=True)
class VQVAEObjective:
    model: VQVAE
    image_shape: tuple               # (H, W, C)
    tx: optax.GradientTransformation
    lr_schedule: Callable
    num_codes: int = 64              # K, the vocabulary of the token models
    beta: float = 0.25               # weight of the commitment loss ||z_e - sg(e)||² (paper: 0.25)
    codebook_decay: float = 0.99     # γ of the EMA codebook update
    dead_threshold: float = 1.0      # restart codes with fewer EMA assignments per batch (0: never; Jukebox: 1)
    ema_decay: float = 0.0           # EMA of the network weights (0: none, the codebook fits the raw encoder)
    num_classes: None = None         # the tokenizer ignores labels (main.run reads this)

    @property
    def token_shape(self) -> tuple:
        return self.model.token_shape

    # --- training -------------------------------------------------------------------------------
    def init(self, key, batch_size: int = 2) -> VQState:
        k_params, k_codes, k_state = jax.random.split(key, 3)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        params = self.model.init({"params": k_params}, x)["params"]
        vq = init_codebook_state(k_codes, self.num_codes, self.model.code_dim)
        return VQState(step=jnp.zeros((), jnp.int32), params=params,
                       ema_params={"params": jax.tree.map(jnp.copy, params), "vq": vq},
                       opt_state=self.tx.init(params), rng=jnp.asarray(k_state), vq=vq)

    def loss(self, params, codebook, x):
        """(reconstruction MSE + β·commitment, aux) for x [B, H, W, C] in [-1, 1]; the codebook is
        a constant here (it moves by EMA), the encoder gets the decoder's gradient unchanged."""
        z_e = self.model.apply({"params": params}, x, method=VQVAE.encode)
        z_q, codes = quantize(z_e, codebook)
        x_hat = self.model.apply({"params": params}, z_q, method=VQVAE.decode)
        rec = jnp.mean((x_hat - x) ** 2)
        commit = jnp.mean((z_e - jax.lax.stop_gradient(codebook[codes])) ** 2)
        return rec + self.beta * commit, {"z_e": z_e, "codes": codes, "reconstruction": rec,
                                          "commitment": commit}

    def step(self, state: VQState, batch: dict):
        """One optimiser step of encoder/decoder, then the EMA codebook update with the batch's
        assignments and a dead-code restart. batch: {"image": [B, H, W, C]}; labels ignored."""
        key = jax.random.fold_in(state.rng, state.step)
        (loss, aux), grads = jax.value_and_grad(self.loss, has_aux=True)(
            state.params, state.vq["codebook"], batch["image"])
        updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        z_flat = jax.lax.stop_gradient(aux["z_e"]).reshape(-1, self.model.code_dim)
        codes = aux["codes"].reshape(-1)
        vq = ema_codebook_update(state.vq, z_flat, codes, self.codebook_decay)
        restarted = jnp.zeros((), jnp.int32)
        if self.dead_threshold > 0:
            vq, restarted = restart_dead_codes(vq, z_flat, key, self.dead_threshold)
        usage, perplexity = code_usage(codes, self.num_codes)
        ema = ema_update(state.ema_params["params"], params, self.ema_decay, state.step)
        # PSNR of images in [-1, 1] (peak-to-peak 2): 10 log10(2² / MSE)
        psnr = 10.0 * jnp.log10(4.0 / jnp.maximum(aux["reconstruction"], 1e-12))
        metrics = {"loss": loss, "reconstruction": aux["reconstruction"], "psnr": psnr,
                   "commitment": aux["commitment"], "code_usage": usage, "perplexity": perplexity,
                   "codes_restarted": restarted, "grad_norm": optax.tree.norm(grads),
                   "learning_rate": self.lr_schedule(state.step)}
        return state.replace(step=state.step + 1, params=params, opt_state=opt_state, vq=vq,
                             ema_params={"params": ema, "vq": vq}), metrics

    # --- tokens ---------------------------------------------------------------------------------
    def encode_tokens(self, params, x):
        """x [B, H, W, C] in [-1, 1] -> codes [B, h, w] int32; params = state.ema_params."""
        z_e = self.model.apply({"params": params["params"]}, x, method=VQVAE.encode)
        return quantize(z_e, params["vq"]["codebook"])[1]

    def decode_tokens(self, params, codes):
        """codes [B, h, w] int -> images [B, H, W, C] clipped to [-1, 1]."""
        z_q = params["vq"]["codebook"][codes]
        return jnp.clip(self.model.apply({"params": params["params"]}, z_q, method=VQVAE.decode), -1, 1)

    def reconstruct(self, params, x):
        return self.decode_tokens(params, self.encode_tokens(params, x))

    # --- sampling -------------------------------------------------------------------------------
    def sample(self, params, key, num: int | None = None):
        """A baseline with no model of token order: every token drawn independently from the
        codebook's EMA usage frequencies, then decoded: [N, H, W, C]. key: one key (with num) or
        per-sample keys [N, 2]. Takes no options."""
        keys = jax.random.split(key, num) if jnp.ndim(key) == 1 else key
        logits = jnp.log(params["vq"]["cluster_size"] + 1e-8)
        codes = jax.vmap(lambda k: jax.random.categorical(k, logits, shape=self.token_shape))(keys)
        return self.decode_tokens(params, codes)

    def preview(self, params, key, num: int):
        return self.sample(params, key, num)
