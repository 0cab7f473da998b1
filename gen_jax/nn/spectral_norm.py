"""Spectral normalisation (Miyato et al. 2018): W / σ(W), σ estimated by power iteration.

A thin wrapper over flax.linen.SpectralNorm that keeps its power-iteration vectors u (and the
last σ) in the collection "spectral", apart from BatchNorm's "batch_stats". The wrapped layer's
kernel is reshaped to [-1, out] (a conv's k·k·C_in rows), whose singular values are those of
Miyato's [C_out, k·k·C_in] matrix. `update` (training) stores the new u; every call, training
or not, runs n_steps power iterations from the stored u, so an evaluation is deterministic.
"""

from __future__ import annotations

import flax.linen as nn

COLLECTION = "spectral"


def sn(layer: nn.Module, update: bool, n_steps: int = 1):
    """layer (Dense/Conv/Embed) with its kernel divided by its spectral norm: call the result like
    the layer. Biases (vectors) are left as they are."""
    wrapped = nn.SpectralNorm(layer, n_steps=n_steps, collection_name=COLLECTION)
    return lambda *args, **kw: wrapped(*args, update_stats=update, **kw)
