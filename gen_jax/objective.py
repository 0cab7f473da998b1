"""The protocol every objective follows, and the options of its `sample`.

The training loop (gen_jax.train.loop) calls init / step / preview; experiments.sample and the
final grid call sample. A family's `sample` takes the options of SampleOptions that apply to it,
and raises a ValueError naming the option and the family for one it does not take.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Objective(Protocol):
    image_shape: tuple             # (H, W, C) of the samples
    num_classes: int | None        # class-conditional when set (label num_classes: the null class)

    def init(self, key) -> Any:
        """A fresh train state (a flax.struct dataclass with step, params, ema_params, ...)."""

    def step(self, state, batch: dict) -> tuple[Any, dict]:
        """One jit-able train step on {"image": [B,H,W,C], "label": [B], ...} -> (state, metrics)."""

    def sample(self, params, key, num: int | None = None, **options):
        """Images [N, H, W, C] in [-1, 1]; key: one key (with num) or per-sample keys [N, 2]."""

    def preview(self, params, key, num: int):
        """A quick grid of num images for the training loop."""


@dataclasses.dataclass(frozen=True)
class SampleOptions:
    """What a user can ask of `sample`. None means "not given": the family's default applies, and
    a family that does not take the option never sees it."""

    sampler: str | None = None        # a name in gen_jax.samplers.SAMPLERS (iterative families)
    num_steps: int | None = None      # sampler steps (>= 1)
    eta: float | None = None          # ddim / euler_ancestral stochasticity in [0, 1]
    spacing: str | None = None        # timestep spacing of the VP-view samplers
    shift: float | None = None        # SD3 time shift of the rectified-flow samplers (> 0)
    labels: Any = None                # [N] class labels, or [N, L] text tokens for text runs
    guidance: float | None = None     # classifier-free guidance scale w (0 uncond., 1 cond.)
    negative_labels: Any = None       # [N] labels that replace the null class in CFG
    truncation: float | None = None   # GANs with a style generator: truncation ψ

    def __post_init__(self):
        if self.num_steps is not None and (not isinstance(self.num_steps, int) or self.num_steps < 1):
            raise ValueError(f"num_steps must be an int >= 1, got {self.num_steps!r}")
        if self.eta is not None and not 0.0 <= self.eta <= 1.0:
            raise ValueError(f"eta must be in [0, 1], got {self.eta}")
        if self.shift is not None and not self.shift > 0:
            raise ValueError(f"shift must be > 0, got {self.shift}")

    def kwargs(self) -> dict:
        """The options that were given, as keyword arguments of `sample`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}


def given(**options) -> dict:
    """The options whose value is not None (None: not given)."""
    return {k: v for k, v in options.items() if v is not None}


def check_options(family: str, options: dict, allowed) -> None:
    """ValueError naming the first option of `options` that `family` does not take."""
    for k in options:
        if k not in allowed:
            raise ValueError(f"{family} does not take the sampling option {k!r}; it takes "
                             f"{sorted(allowed)}")


def sample_options(objective, sampler: str | None = None) -> set:
    """The keyword options objective.sample takes: its keyword-only parameters, plus, when it
    forwards **options to a sampler, that sampler's own (gen_jax.samplers.SAMPLERS[sampler])."""
    import inspect

    from gen_jax.samplers.registry import SAMPLERS

    params = inspect.signature(objective.sample).parameters.values()
    names = {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params) and sampler in SAMPLERS:
        names |= set(SAMPLERS[sampler].options)
    return names
