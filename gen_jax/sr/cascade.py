"""Cascaded sampling (Ho et al. 2021): a low-resolution base model, then a super-resolution model
conditioned on its samples (at a chosen noise-augmentation level)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def stage_keys(key, stage: int):
    """The keys of cascade stage `stage`: fold_in(key, stage) for one key [2], or for each row of
    per-sample keys [N, 2] (then sample i depends only on key i, whatever N)."""
    if jnp.ndim(key) == 2:
        return jax.vmap(lambda k: jax.random.fold_in(k, stage))(key)
    return jax.random.fold_in(key, stage)


def cascade_sample(base, base_params, sr, sr_params, key, num: int, *, labels=None,
                   base_options=None, sr_options=None):
    """(low-res samples [N, h, h, C], high-res samples [N, H, W, C]). base: any objective whose
    sample() gives images of the SR model's low-res size; sr: an SRDiffusionObjective. key: one
    key, or per-sample keys [N, 2]; the base draws with fold_in(key, 0), the SR stage with
    fold_in(key, 1) (per row for per-sample keys, see stage_keys); labels go to both stages when
    each is class-conditional. base_options / sr_options: their sample() keyword options."""
    base_kw = dict(base_options or {})
    sr_kw = dict(sr_options or {})
    if labels is not None:
        if getattr(base, "num_classes", None):
            base_kw["labels"] = labels
        if sr.num_classes:
            sr_kw["labels"] = labels
    low = base.sample(base_params, stage_keys(key, 0), num, **base_kw)
    want = (sr.lowres_size, sr.lowres_size, sr.image_shape[2])
    if tuple(low.shape[1:]) != want:
        raise ValueError(f"cascade: the base model samples {tuple(low.shape[1:])}, the SR model "
                         f"takes low-res inputs {want}")
    high = sr.sample(sr_params, stage_keys(key, 1), num, lowres=low, **sr_kw)
    return low, high
