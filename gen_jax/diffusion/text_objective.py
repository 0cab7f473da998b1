"""Text-to-image DDPM: DiffusionObjective's DDPM form with a caption (gen_jax.conditioning
TextTokens) instead of a class label. The model is nn.text.TextConditioned, called as
model(x_t, t, tokens [B, L], train); `labels` of sample/views are token arrays [B, L]."""

from __future__ import annotations

from gen_jax.diffusion.objective import DiffusionObjective


def TextDiffusionObjective(*, tokenizer=None, preview_prompts=(), **fields) -> DiffusionObjective:
    """DiffusionObjective(schedule=, ..., tokenizer=, preview_prompts=): captions, the empty
    prompt as CFG's null and caption-dropout target."""
    if tokenizer is None:
        raise ValueError("TextDiffusionObjective needs a tokenizer")
    return DiffusionObjective(tokenizer=tokenizer, preview_prompts=preview_prompts, **fields)
