"""Text-to-image rectified flow: FlowObjective with a caption instead of a class label (as
diffusion/text_objective.py)."""

from __future__ import annotations

from gen_jax.flow.objective import FlowObjective


def TextFlowObjective(*, tokenizer=None, preview_prompts=(), **fields):
    """FlowObjective(..., tokenizer=, preview_prompts=)."""
    if tokenizer is None:
        raise ValueError("TextFlowObjective needs a tokenizer")
    return FlowObjective(tokenizer=tokenizer, preview_prompts=preview_prompts, **fields)
