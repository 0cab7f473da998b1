"""Typed config sections: frozen dataclasses built by splatting a section (as vdm's
`VDMConfig(**config.model)`), so a misspelt field fails at construction naming itself, and an
out-of-range value fails in `__post_init__` naming the field, what was expected and what was found.
Field names and defaults are those of experiments/configs/common.py (and of the helpers that add an
objective's fields), so the configs saved with earlier runs (workdir run.json) still load."""

from __future__ import annotations

import dataclasses
from typing import Mapping, Optional

from gen_jax.diffusion.losses import PREDICTIONS
from gen_jax.diffusion.schedules import BETA_SCHEDULES
from gen_jax.samplers.common import SPACINGS

DTYPES = ("float32", "bfloat16")


def check(cond: bool, field: str, expected: str, found) -> None:
    """The one config error: `config.FIELD: expected ..., found ...`."""
    if not cond:
        raise ValueError(f"config.{field}: expected {expected}, found {found!r}")


def check_conv_model(m, name: str) -> None:
    """The fields every convolutional encoder/decoder section shares: model.name is `name` (the
    objective's), a positive base width and a non-empty channel_mult of positive ints."""
    check(m.name == name, "model.name", f"'{name}' (objective.name is '{name}')", m.name)
    check(m.channels >= 1, "model.channels", "a positive int", m.channels)
    check(len(m.channel_mult) >= 1 and all(k >= 1 for k in m.channel_mult),
          "model.channel_mult", "a non-empty tuple of positive ints", m.channel_mult)


def _int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def field_names(cls) -> tuple:
    return tuple(f.name for f in dataclasses.fields(cls))


def parse(cls, section: Mapping, name: str, extra=()):
    """cls(**section) without the fields in `extra` (owned by another reader of the same section:
    a wrapping objective, the sibling network); an unknown field is a ValueError naming it, the
    section and the accepted names."""
    d = {k: v for k, v in dict(section).items() if k not in extra}
    unknown = sorted(set(d) - set(field_names(cls)))
    if unknown:
        accepted = sorted(set(field_names(cls)) | set(extra))
        raise ValueError(f"config.{name}.{unknown[0]}: unknown field of config.{name} "
                         f"({cls.__name__}); expected one of {accepted}")
    return cls(**d)


class _Section:
    """Checks of __post_init__ report `config.<SECTION>.<field>`."""
    SECTION = ""

    def _check(self, cond: bool, field: str, expected: str) -> None:
        check(cond, f"{self.SECTION}.{field}", expected, getattr(self, field))


# --- the sections every run has ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DataConfig(_Section):
    SECTION = "data"
    name: str = "digits"
    dir: str = ""
    split: str = "train"
    flip: bool = False
    crop: int = 0
    workers: int = 0
    threads: int = 2
    prefetch: int = 4
    pairs: str = ""              # reflow: the (noise, sample) pairs of experiments.reflow

    def __post_init__(self):
        self._check(_int(self.crop) and self.crop >= 0, "crop", "an int >= 0 (0: none)")
        self._check(_int(self.workers) and self.workers >= 0, "workers", "an int >= 0")
        self._check(_int(self.threads) and self.threads >= 1, "threads", "an int >= 1")
        self._check(_int(self.prefetch) and self.prefetch >= 1, "prefetch", "an int >= 1")


@dataclasses.dataclass(frozen=True)
class OptimConfig(_Section):
    SECTION = "optim"
    learning_rate: float = 2e-4
    warmup_steps: int = 200
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    ema_decay: float = 0.999
    cosine_decay: bool = False
    b1: float = 0.9              # Adam β1 (GAN-family configs set it)
    b2: float = 0.999            # Adam β2
    d_learning_rate: float = 0.0  # the discriminator's (GAN, autoencoder, CycleGAN); 0: none

    def __post_init__(self):
        self._check(self.learning_rate > 0, "learning_rate", "a value > 0")
        self._check(0.0 <= self.ema_decay < 1.0, "ema_decay", "a value in [0, 1)")
        self._check(self.warmup_steps >= 0, "warmup_steps", "an int >= 0")
        self._check(self.grad_clip >= 0, "grad_clip", "a value >= 0 (0: off)")
        self._check(self.weight_decay >= 0, "weight_decay", "a value >= 0")
        self._check(0.0 <= self.b1 < 1.0, "b1", "a value in [0, 1)")
        self._check(0.0 <= self.b2 < 1.0, "b2", "a value in [0, 1)")
        self._check(self.d_learning_rate >= 0, "d_learning_rate", "a value >= 0")


@dataclasses.dataclass(frozen=True)
class TrainConfig(_Section):
    SECTION = "train"
    steps: int = 3000
    batch_size: int = 64
    fsdp: int = 1
    log_every: int = 50
    ckpt_every: int = 500
    keep_checkpoints: int = 3
    steps_per_call: int = 1
    loss_blowup_factor: float = 1000.0
    sample_every: int = 1000
    num_preview: int = 64
    num_final_samples: int = 100
    eval_every: int = 0
    eval_samples: int = 1000
    eval_real: int = 10000

    def __post_init__(self):
        self._check(self.steps >= 1, "steps", "an int >= 1")
        self._check(self.batch_size >= 1, "batch_size", "an int >= 1")
        self._check(_int(self.fsdp) and self.fsdp >= 1, "fsdp", "an int >= 1")
        self._check(self.log_every >= 1, "log_every", "an int >= 1")
        self._check(self.ckpt_every >= 0, "ckpt_every", "an int >= 0")
        self._check(_int(self.keep_checkpoints) and self.keep_checkpoints >= 1, "keep_checkpoints", "an int >= 1")
        self._check(_int(self.steps_per_call) and self.steps_per_call >= 1, "steps_per_call", "an int >= 1")
        self._check(self.loss_blowup_factor == 0 or self.loss_blowup_factor > 1, "loss_blowup_factor",
                    "0 (off) or a value > 1")
        self._check(self.sample_every >= 0, "sample_every", "an int >= 0 (0: never)")
        self._check(_int(self.num_final_samples) and self.num_final_samples >= 0, "num_final_samples",
                    "an int >= 0 (0: no samples.png)")
        self._check(_int(self.eval_every) and self.eval_every >= 0, "eval_every", "an int >= 0")
        if self.eval_every:
            self._check(self.eval_samples > 3, "eval_samples", "an int > 3 (k-NN precision/recall, k = 3)")
            self._check(self.eval_real > 3, "eval_real", "an int > 3")


@dataclasses.dataclass(frozen=True)
class SamplerConfig(_Section):
    """The sampler of the diffusion and flow families; which names are valid is the objective's."""
    SECTION = "sampler"
    name: str = "ddim"
    num_steps: int = 50
    eta: float = 0.0
    spacing: str = "trailing"
    shift: float = 1.0           # rf_* samplers: SD3 shift of the sampling time grid

    def __post_init__(self):
        self._check(self.num_steps >= 1, "num_steps", "an int >= 1")
        self._check(self.spacing in SPACINGS, "spacing", f"one of {SPACINGS}")
        self._check(self.eta >= 0, "eta", "a value >= 0")
        self._check(self.shift > 0, "shift", "a value > 0")


# --- networks: config.model holds the fields of both backbones (common.base_config) ---------------
# Options only imported checkpoints set (experiments/import_diffusers.py).
UNET_IMPORT_OPTIONS = ("out_channels", "time_flip_sin_to_cos", "time_freq_shift", "time_scale_shift",
                       "norm_groups", "norm_eps", "attention_head_dim", "downsample_padding")


@dataclasses.dataclass(frozen=True)
class _Backbone(_Section):
    SECTION = "model"
    name: str = "unet"
    num_heads: int = 4
    dropout: float = 0.0
    class_conditional: bool = False
    dtype: str = "float32"

    def __post_init__(self):
        self._check(self.dtype in DTYPES, "dtype", f"one of {sorted(DTYPES)}")
        self._check(self.num_heads >= 1, "num_heads", "a positive int")
        self._check(0.0 <= self.dropout < 1.0, "dropout", "a value in [0, 1)")


@dataclasses.dataclass(frozen=True)
class UNetConfig(_Backbone):
    channels: int = 32
    channel_mult: tuple = (1, 2)
    num_res_blocks: int = 1
    attention_resolutions: tuple = (4,)
    out_channels: Optional[int] = None
    time_flip_sin_to_cos: Optional[bool] = None
    time_freq_shift: Optional[float] = None
    time_scale_shift: Optional[bool] = None
    norm_groups: Optional[int] = None
    norm_eps: Optional[float] = None
    attention_head_dim: Optional[int] = None
    downsample_padding: Optional[int] = None

    def __post_init__(self):
        super().__post_init__()
        self._check(self.channels >= 1, "channels", "a positive int")
        self._check(len(self.channel_mult) >= 1 and all(m >= 1 for m in self.channel_mult),
                    "channel_mult", "a non-empty tuple of positive ints")
        self._check(self.num_res_blocks >= 1, "num_res_blocks", "a positive int")

    def import_options(self) -> dict:
        return {k: getattr(self, k) for k in UNET_IMPORT_OPTIONS if getattr(self, k) is not None}


@dataclasses.dataclass(frozen=True)
class DiTConfig(_Backbone):
    patch_size: int = 2
    depth: int = 4
    hidden_size: int = 128

    def __post_init__(self):
        super().__post_init__()
        self._check(self.patch_size >= 1, "patch_size", "a positive int")
        self._check(self.depth >= 1, "depth", "a positive int")
        self._check(self.hidden_size >= 4 and self.hidden_size % 4 == 0
                    and self.hidden_size % self.num_heads == 0, "hidden_size",
                    f"a multiple of 4 and of model.num_heads={self.num_heads}")


BACKBONES = {"unet": UNetConfig, "dit": DiTConfig}
BACKBONE_FIELDS = set(field_names(UNetConfig)) | set(field_names(DiTConfig))


def parse_backbone(section: Mapping, extra=()):
    """UNetConfig or DiTConfig by model.name; the other backbone's fields are allowed (and unused)."""
    check(section["name"] in BACKBONES, "model.name", f"one of {sorted(BACKBONES)}", section["name"])
    cls = BACKBONES[section["name"]]
    return parse(cls, section, "model", (BACKBONE_FIELDS - set(field_names(cls))) | set(extra))


# --- objectives -----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Objective(_Section):
    """The fields common.base_config writes for every objective (DDPM's; unused by the others)."""
    SECTION = "objective"
    name: str = "ddpm"
    schedule: str = "linear"
    num_timesteps: int = 1000
    prediction: str = "eps"
    cond_drop_prob: float = 0.0

    def __post_init__(self):
        self._check(0.0 <= self.cond_drop_prob <= 1.0, "cond_drop_prob", "a value in [0, 1]")


@dataclasses.dataclass(frozen=True)
class DDPMConfig(_Objective):
    def __post_init__(self):
        self._check(self.schedule in BETA_SCHEDULES, "schedule", f"one of {BETA_SCHEDULES}")
        self._check(self.num_timesteps >= 2, "num_timesteps", "an int >= 2")
        self._check(self.prediction in PREDICTIONS, "prediction", f"one of {PREDICTIONS}")
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class RectifiedFlowConfig(_Objective):
    name: str = "rectified_flow"
    time_sampling: str = "logit_normal"
    logit_mean: float = 0.0
    logit_scale: float = 1.0
    shift: float = 1.0
    time_scale: float = 1000.0

    def __post_init__(self):
        from gen_jax.flow.rectified_flow import TIME_SAMPLINGS

        self._check(self.time_sampling in TIME_SAMPLINGS, "time_sampling", f"one of {TIME_SAMPLINGS}")
        self._check(self.logit_scale > 0, "logit_scale", "a value > 0")
        self._check(self.shift > 0, "shift", "a value > 0")
        self._check(self.time_scale > 0, "time_scale", "a value > 0")
        super().__post_init__()


# objective.process -> the fields that parametrise it
PROCESS_FIELDS = {"vp_sde": ("beta_min", "beta_max"), "ve_sde": ("sigma_min", "sigma_max"),
                  "ddpm_linear": ("num_timesteps",), "ddpm_cosine": ("num_timesteps",),
                  "edm": ("sigma_min", "sigma_max", "rho")}


@dataclasses.dataclass(frozen=True)
class GeneralDiffusionConfig(RectifiedFlowConfig):
    name: str = "diffusion"
    process: str = "rectified_flow"
    prediction: str = "velocity"
    time_sampling: str = "uniform"
    beta_min: float = 0.1
    beta_max: float = 20.0
    sigma_min: float = 0.01
    sigma_max: float = 80.0
    rho: float = 7.0

    def __post_init__(self):
        from gen_jax.diffusion.process import PREDICTIONS as GENERAL_PREDICTIONS, PROCESSES

        self._check(self.process in PROCESSES, "process", f"one of {list(PROCESSES)}")
        self._check(self.prediction in GENERAL_PREDICTIONS, "prediction", f"one of {GENERAL_PREDICTIONS}")
        super().__post_init__()
        self._check(0 <= self.beta_min < self.beta_max, "beta_max",
                    f"a value > objective.beta_min={self.beta_min} >= 0")
        self._check(0 < self.sigma_min < self.sigma_max, "sigma_max",
                    f"a value > objective.sigma_min={self.sigma_min} > 0")
        self._check(self.num_timesteps >= 2, "num_timesteps", "an int >= 2")

    def process_args(self) -> dict:
        return {k: getattr(self, k) for k in PROCESS_FIELDS.get(self.process, ())}
