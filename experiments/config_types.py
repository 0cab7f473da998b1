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

    def _positive(self, *fields: str) -> None:
        for f in fields:
            self._check(_int(getattr(self, f)) and getattr(self, f) >= 1, f, "a positive int")

    def _nonnegative(self, *fields: str) -> None:
        for f in fields:
            self._check(getattr(self, f) >= 0, f, "a value >= 0")


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
        self._nonnegative("weight_decay")
        self._check(0.0 <= self.b1 < 1.0, "b1", "a value in [0, 1)")
        self._check(0.0 <= self.b2 < 1.0, "b2", "a value in [0, 1)")
        self._nonnegative("d_learning_rate")


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
        self._nonnegative("eta")
        self._check(self.shift > 0, "shift", "a value > 0")


@dataclasses.dataclass(frozen=True)
class GANSamplerConfig(SamplerConfig):
    """config.sampler of GAN runs: base_config's fields (unused: one generator call) and the
    truncation ψ of previews and samples.png (stylegan2 only; 1: off)."""
    truncation: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        self._check(0.0 <= self.truncation <= 1.0, "truncation", "a value in [0, 1]")


# --- networks: config.model holds the fields of both backbones (common.base_config) ---------------
# Options only imported checkpoints set (experiments/import_diffusers.py).
UNET_IMPORT_OPTIONS = ("out_channels", "time_flip_sin_to_cos", "time_freq_shift", "time_scale_shift",
                       "norm_groups", "norm_eps", "attention_head_dim", "downsample_padding")
DIT_IMPORT_OPTIONS = ("out_channels", "time_freq_shift", "pos_embed_col_first", "mlp_norm_eps")


@dataclasses.dataclass(frozen=True)
class _Backbone(_Section):
    SECTION = "model"
    IMPORT_OPTIONS = ()  # the network's options that only imported checkpoints set (None: its default)
    name: str = "unet"
    num_heads: int = 4
    dropout: float = 0.0
    class_conditional: bool = False
    dtype: str = "float32"

    def __post_init__(self):
        self._check(self.dtype in DTYPES, "dtype", f"one of {sorted(DTYPES)}")
        self._check(self.num_heads >= 1, "num_heads", "a positive int")
        self._check(0.0 <= self.dropout < 1.0, "dropout", "a value in [0, 1)")

    def import_options(self) -> dict:
        return {k: getattr(self, k) for k in self.IMPORT_OPTIONS if getattr(self, k) is not None}


@dataclasses.dataclass(frozen=True)
class UNetConfig(_Backbone):
    IMPORT_OPTIONS = UNET_IMPORT_OPTIONS
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



@dataclasses.dataclass(frozen=True)
class DiTConfig(_Backbone):
    IMPORT_OPTIONS = DIT_IMPORT_OPTIONS
    patch_size: int = 2
    depth: int = 4
    hidden_size: int = 128
    out_channels: Optional[int] = None   # 2 x image channels with objective.learned_sigma
    time_freq_shift: Optional[float] = None
    pos_embed_col_first: Optional[bool] = None
    mlp_norm_eps: Optional[float] = None

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
    # the network outputs [prediction, variance] (2C channels: improved DDPM, DiT); the loss and
    # the samplers use the prediction half (set by experiments.import_diffusers for DiT checkpoints)
    learned_sigma: bool = False

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


# --- the other families ---------------------------------------------------------------------------
# Their model sections also hold base_config's backbone fields (unused there), and their objective
# sections _Objective's; a wrapping family's own fields are a class of their own, parsed with the
# base's fields as `extra` (the base's parse, in turn, takes these as its extra).
def parse_model(cls, section: Mapping, extra=()):
    """cls from config.model, base_config's backbone fields allowed (and unused) beside cls's."""
    return parse(cls, section, "model", (BACKBONE_FIELDS - set(field_names(cls))) | set(extra))


@dataclasses.dataclass(frozen=True)
class _ConvModel(_Section):
    """An encoder/decoder section: model.name is the objective's (OBJECTIVE), check_conv_model's fields."""
    SECTION = "model"
    OBJECTIVE = ""
    name: str = ""
    channels: int = 32
    channel_mult: tuple = (1, 2)

    def __post_init__(self):
        check_conv_model(self, self.OBJECTIVE)


GAN_GENERATORS = ("dcgan", "sngan", "stylegan2")  # build.GAN_MODELS' keys


@dataclasses.dataclass(frozen=True)
class GANModelConfig(_Section):
    """configs/gan_common.py: the fields of every generator kind (the stylegan2-only ones unused by the others)."""
    SECTION = "model"
    name: str = "dcgan"
    channels: int = 64
    d_channels: int = 0
    z_dim: int = 100
    g_norm: str = "batch"
    d_spectral_norm: bool = False
    class_conditional: bool = False
    w_dim: int = 128
    mapping_layers: int = 4
    style_mixing_prob: float = 0.9
    w_avg_beta: float = 0.995

    def __post_init__(self):
        from gen_jax.nn.dcgan import NORMS

        self._check(self.name in GAN_GENERATORS, "name", f"one of {sorted(GAN_GENERATORS)} for objective 'gan'")
        self._positive("channels", "z_dim")
        self._check(self.d_channels >= 0, "d_channels", "an int >= 0 (0: model.channels)")
        self._check(self.g_norm in NORMS, "g_norm", f"one of {NORMS}")
        if self.name == "stylegan2":
            self._positive("w_dim")
            self._check(self.mapping_layers >= 1, "mapping_layers", "an int >= 1")
            self._check(0.0 <= self.style_mixing_prob <= 1.0, "style_mixing_prob", "a value in [0, 1]")
            self._check(0.0 <= self.w_avg_beta < 1.0, "w_avg_beta", "a value in [0, 1)")


@dataclasses.dataclass(frozen=True)
class GANObjectiveConfig(_Objective):
    name: str = "gan"
    loss: str = "nonsaturating"
    n_critic: int = 1
    gp_weight: float = 10.0
    r1_gamma: float = 0.0
    diffaugment: str = ""

    def __post_init__(self):
        from gen_jax.gan.augment import parse_policy
        from gen_jax.gan.losses import LOSSES

        self._check(self.loss in LOSSES, "loss", f"one of {LOSSES}")
        self._check(_int(self.n_critic) and self.n_critic >= 1, "n_critic", "an int >= 1")
        self._nonnegative("gp_weight", "r1_gamma")
        try:
            parse_policy(self.diffaugment)
        except ValueError as e:
            raise ValueError(f"config.objective.diffaugment: {e}") from None
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class VAEModelConfig(_ConvModel):
    OBJECTIVE = "vae"
    name: str = "vae"
    latent_dim: int = 16

    def __post_init__(self):
        super().__post_init__()
        self._positive("latent_dim")


@dataclasses.dataclass(frozen=True)
class VAEObjectiveConfig(_Objective):
    name: str = "vae"
    beta: float = 1.0
    likelihood: str = "bernoulli"
    obs_sigma: float = 0.1

    def __post_init__(self):
        from gen_jax.vae.objective import LIKELIHOODS

        self._check(self.likelihood in LIKELIHOODS, "likelihood", f"one of {LIKELIHOODS}")
        self._nonnegative("beta")
        self._check(self.obs_sigma > 0, "obs_sigma", "a value > 0")
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class AutoencoderModelConfig(_ConvModel):
    OBJECTIVE = "autoencoder_kl"
    name: str = "autoencoder_kl"
    channels: int = 16
    channel_mult: tuple = (1, 2, 2)
    num_res_blocks: int = 1
    latent_channels: int = 4
    d_channels: int = 16
    d_layers: int = 2
    mid_attention: bool = False  # Stable Diffusion's VAE (imported checkpoints): attention in the middle
    quant_conv: bool = False     # ... and 1x1 convolutions on the moments and on z

    def __post_init__(self):
        super().__post_init__()
        self._positive("num_res_blocks", "latent_channels", "d_channels", "d_layers")


@dataclasses.dataclass(frozen=True)
class AutoencoderObjectiveConfig(_Objective):
    name: str = "autoencoder_kl"
    reconstruction: str = "l1"
    kl_weight: float = 1e-6
    disc_loss: str = "hinge"
    disc_start: int = 150
    disc_weight: float = 0.5
    adaptive: bool = True
    # the scale latent diffusion puts on these latents when its own objective.latent_scale is 0
    # (an imported checkpoint's scaling_factor); 0: latent diffusion estimates it from data
    latent_scale: float = 0.0

    def __post_init__(self):
        from gen_jax.gan.losses import LOSSES
        from gen_jax.latent.autoencoder import RECONSTRUCTIONS

        self._check(self.reconstruction in RECONSTRUCTIONS, "reconstruction", f"one of {RECONSTRUCTIONS}")
        self._nonnegative("kl_weight")
        self._check(self.disc_loss in LOSSES[:3], "disc_loss", f"one of {LOSSES[:3]}")
        self._check(_int(self.disc_start) and self.disc_start >= 0, "disc_start", "an int >= 0")
        self._nonnegative("disc_weight", "latent_scale")
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class VQVAEModelConfig(_ConvModel):
    OBJECTIVE = "vqvae"
    name: str = "vqvae"
    num_res_blocks: int = 1
    code_dim: int = 16

    def __post_init__(self):
        super().__post_init__()
        self._check(self.num_res_blocks >= 0, "num_res_blocks", "an int >= 0")
        self._positive("code_dim")


@dataclasses.dataclass(frozen=True)
class VQVAEObjectiveConfig(_Objective):
    name: str = "vqvae"
    num_codes: int = 64
    beta: float = 0.25
    codebook_decay: float = 0.99
    dead_threshold: float = 1.0

    def __post_init__(self):
        self._check(self.num_codes >= 2, "num_codes", "an int >= 2")
        self._nonnegative("beta")
        self._check(0.0 <= self.codebook_decay < 1.0, "codebook_decay", "a value in [0, 1)")
        self._check(self.dead_threshold >= 0, "dead_threshold", "a value >= 0 (0: no restarts)")
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class CycleGANModelConfig(_Section):
    SECTION = "model"
    name: str = "cyclegan"
    channels: int = 16
    num_blocks: int = 3
    d_channels: int = 16
    d_layers: int = 2

    def __post_init__(self):
        self._check(self.name == "cyclegan", "name", "'cyclegan' (objective.name is 'cyclegan')")
        self._positive("channels", "num_blocks", "d_channels", "d_layers")


@dataclasses.dataclass(frozen=True)
class CycleGANObjectiveConfig(_Objective):
    name: str = "cyclegan"
    cycle_weight: float = 10.0
    identity_weight: float = 0.5
    pool_size: int = 50

    def __post_init__(self):
        self._nonnegative("cycle_weight", "identity_weight")
        self._check(_int(self.pool_size) and self.pool_size >= 0, "pool_size", "an int >= 0")
        super().__post_init__()


# --- token models (ar, maskgit) on a VQ-VAE's tokens ----------------------------------------------
@dataclasses.dataclass(frozen=True)
class TokenModelConfig(_Section):
    """configs/ar_mnist.py; model.name is checked against the objective by families/ar.py."""
    SECTION = "model"
    name: str = "token_transformer"
    width: int = 128
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: int = 4
    class_conditional: bool = False

    def __post_init__(self):
        self._positive("num_heads", "depth", "mlp_ratio")
        self._check(self.width >= 1 and self.width % self.num_heads == 0, "width",
                    f"a positive multiple of model.num_heads={self.num_heads}")


@dataclasses.dataclass(frozen=True)
class TokenObjectiveConfig(_Objective):
    name: str = "ar"
    tokenizer_workdir: str = ""  # checked against the file system by families/ar.py


@dataclasses.dataclass(frozen=True)
class TokenSamplerConfig(_Section):
    SECTION = "sampler"
    name: str = "raster"
    guidance: float = 1.0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    num_steps: int = 8            # maskgit only (raster: h·w)
    choice_temperature: float = 4.5  # maskgit only

    def __post_init__(self):
        self._check(self.temperature >= 0, "temperature", "a value >= 0 (0: greedy)")
        self._check(_int(self.top_k) and self.top_k >= 0, "top_k", "an int >= 0 (0: off)")
        self._check(0.0 < self.top_p <= 1.0, "top_p", "a value in (0, 1] (1: off)")
        self._check(_int(self.num_steps) and self.num_steps >= 1, "num_steps",
                    "an int >= 1 (parallel decoding steps)")
        self._nonnegative("choice_temperature")


# --- distillation: the teacher's fields, then each student's --------------------------------------
@dataclasses.dataclass(frozen=True)
class _DistillConfig(_Objective):
    teacher_workdir: str = ""
    teacher_checkpoint: int = 0
    teacher_guidance: float = 1.0

    def __post_init__(self):
        self._check(isinstance(self.teacher_workdir, str) and bool(self.teacher_workdir), "teacher_workdir",
                    "the workdir of a trained teacher (experiments.main, objective ('ddpm', 'rectified_flow'))")
        self._check(self.teacher_checkpoint >= 0, "teacher_checkpoint", "an int >= 0 (0: latest)")
        self._nonnegative("teacher_guidance")
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class ProgressiveDistillConfig(_DistillConfig):
    name: str = "progressive_distill"
    teacher_steps: int = 8
    rounds: int = 3

    def __post_init__(self):
        super().__post_init__()
        self._check(self.rounds >= 1, "rounds", "an int >= 1")
        self._check(self.teacher_steps >= 2 and self.teacher_steps % 2 ** self.rounds == 0, "teacher_steps",
                    f"a multiple of 2**objective.rounds = {2 ** self.rounds}")


@dataclasses.dataclass(frozen=True)
class ConsistencyDistillConfig(_DistillConfig):
    name: str = "consistency_distill"
    num_scales: int = 18
    sigma_data: float = 0.5
    target_ema: float = 0.95
    loss: str = "l2"

    def __post_init__(self):
        from gen_jax.distill.consistency import LOSSES

        super().__post_init__()
        self._check(self.num_scales >= 1, "num_scales", "an int >= 1")
        self._check(self.sigma_data > 0, "sigma_data", "a value > 0")
        self._check(0.0 <= self.target_ema < 1.0, "target_ema", "a value in [0, 1)")
        self._check(self.loss in LOSSES, "loss", f"one of {LOSSES}")


# --- wrapping families: their own fields of a section that also holds the base's -----------------
LATENT_BASES = ("ddpm", "rectified_flow")


@dataclasses.dataclass(frozen=True)
class LatentDiffusionConfig(_Section):
    """configs/ldm_cifar10.py; the section also holds the fields of both bases (DDPM's, RF's)."""
    SECTION = "objective"
    base: str = "ddpm"
    autoencoder_workdir: str = ""  # checked against the file system by build.py
    latent_scale: float = 0.0
    scale_batch: int = 512
    sample_posterior: bool = True

    def __post_init__(self):
        self._check(self.base in LATENT_BASES, "base", f"one of {LATENT_BASES}")
        self._check(self.latent_scale >= 0, "latent_scale", "a value >= 0 (0: estimate from data)")
        self._check(self.scale_batch >= 2, "scale_batch", "an int >= 2")


@dataclasses.dataclass(frozen=True)
class TextConfig(_Section):
    """config.text of the text-to-image runs (configs/text_to_image.py: text_section)."""
    SECTION = "text"
    max_len: int = 16
    width: int = 64
    depth: int = 2
    num_heads: int = 4
    vocab: tuple = ()
    preview_prompts: tuple = ()

    def __post_init__(self):
        self._check(_int(self.max_len) and self.max_len >= 2, "max_len", "an int >= 2 (<bos> + a word)")
        self._check(self.num_heads >= 1, "num_heads", "a positive int")
        self._check(self.width >= 1 and self.width % self.num_heads == 0, "width",
                    f"a positive multiple of text.num_heads={self.num_heads}")
        self._check(self.depth >= 0, "depth", "an int >= 0")


CONTROLNET_BASES = ("ddpm", "rectified_flow")


@dataclasses.dataclass(frozen=True)
class ControlNetConfig(_Section):
    """configs/controlnet_mnist.py: the objective's own fields (the section also holds RF's)."""
    SECTION = "objective"
    base_workdir: str = ""       # its run.json is read by build.py
    base_step: int = 0
    condition: str = "edges"
    edge_threshold: float = 0.5

    def __post_init__(self):
        from gen_jax.utils.conditions import CONDITIONS

        self._check(bool(self.base_workdir), "base_workdir",
                    f"the workdir of a trained U-Net run (objective {CONTROLNET_BASES})")
        self._check(self.base_step >= 0, "base_step", "an int >= 0 (0: latest)")
        self._check(self.condition in CONDITIONS, "condition", f"one of {sorted(CONDITIONS)}")


@dataclasses.dataclass(frozen=True)
class ControlNetModelConfig(_Section):
    SECTION = "model"
    hint_channels: int = 16

    def __post_init__(self):
        self._positive("hint_channels")


@dataclasses.dataclass(frozen=True)
class SRConfig(_Section):
    """configs/sr_mnist.py: super-resolution's fields of config.objective (beside the diffusion's)."""
    SECTION = "objective"
    lowres_size: int = 7
    upsample: str = "bicubic"
    aug_max: float = 0.5

    def __post_init__(self):
        from gen_jax.data.lowres import UPSAMPLE_METHODS

        self._check(_int(self.lowres_size) and self.lowres_size >= 1, "lowres_size",
                    "a positive int dividing the image size")
        self._check(self.upsample in UPSAMPLE_METHODS, "upsample", f"one of {UPSAMPLE_METHODS}")
        self._check(0.0 <= self.aug_max <= 1.0, "aug_max", "a value in [0, 1]")


@dataclasses.dataclass(frozen=True)
class SRSamplerConfig(_Section):
    SECTION = "sampler"
    aug_level: float = 0.0

    def __post_init__(self):
        self._check(0.0 <= self.aug_level <= 1.0, "aug_level", "a value in [0, 1]")


@dataclasses.dataclass(frozen=True)
class VideoConfig(_Section):
    """configs/video_mnist.py: video's fields of config.objective (beside the diffusion's)."""
    SECTION = "objective"
    task_probs: tuple = (0.5, 0.25, 0.25)
    image_workdir: str = ""

    def __post_init__(self):
        p = tuple(self.task_probs)
        check(len(p) == 3 and min(p) >= 0 and abs(sum(p) - 1) < 1e-6, "objective.task_probs",
              "3 probabilities (generate, predict, interpolate) summing to 1", p)


@dataclasses.dataclass(frozen=True)
class VideoModelConfig(_Section):
    SECTION = "model"
    temporal_heads: int = 4

    def __post_init__(self):
        self._positive("temporal_heads")


def own_fields(cls, section: Mapping, base_classes=(), name: str = ""):
    """A wrapping family's own fields of a section it shares with its base: cls, the fields of
    `base_classes` allowed (their own parse checks them)."""
    base = set().union(*(field_names(b) for b in base_classes)) - set(field_names(cls))
    return parse(cls, section, name or cls.SECTION, base)
