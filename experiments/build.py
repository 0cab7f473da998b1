"""The one place where a config becomes objects: explicit registries from name to constructor.
Library code never sees a ConfigDict; this module reads it and passes plain arguments."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import ml_collections

from gen_jax.data import load_dataset
from gen_jax.diffusion.losses import PREDICTIONS
from gen_jax.diffusion.objective import DiffusionObjective
from gen_jax.diffusion.schedules import BETA_SCHEDULES, make_schedule
from gen_jax.nn.dit import DiT
from gen_jax.nn.unet import UNet
from gen_jax.samplers import SAMPLERS
from gen_jax.samplers.common import SPACINGS
from gen_jax.train.state import make_optimizer

MODELS = {"unet": UNet, "dit": DiT}
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def _require(cond: bool, field: str, expected: str, found) -> None:
    if not cond:
        raise ValueError(f"config.{field}: expected {expected}, found {found!r}")


def _validate_model(c: ml_collections.ConfigDict) -> None:
    """model.name, then that network's own fields (_MODEL_VALIDATORS, at the end of this file)."""
    _require(c.model.name in MODELS, "model.name", f"one of {sorted(MODELS)}", c.model.name)
    _require(c.model.get("dtype", "float32") in DTYPES, "model.dtype", f"one of {sorted(DTYPES)}",
             c.model.get("dtype"))
    _MODEL_VALIDATORS[c.model.name](c)


def _validate_unet(c: ml_collections.ConfigDict) -> None:
    _require(c.model.channels >= 1, "model.channels", "a positive int", c.model.channels)
    _require(len(c.model.channel_mult) >= 1 and all(m >= 1 for m in c.model.channel_mult),
             "model.channel_mult", "a non-empty tuple of positive ints", c.model.channel_mult)
    _require(0.0 <= c.model.dropout < 1.0, "model.dropout", "a value in [0, 1)", c.model.dropout)


def _validate_discrete_diffusion(c: ml_collections.ConfigDict) -> None:
    """The DDPM objective and its samplers (also used by the noise-conditional classifier)."""
    _validate_model(c)
    _require(c.objective.schedule in BETA_SCHEDULES, "objective.schedule", f"one of {BETA_SCHEDULES}", c.objective.schedule)
    _require(c.objective.num_timesteps >= 2, "objective.num_timesteps", "an int >= 2", c.objective.num_timesteps)
    _require(c.objective.prediction in PREDICTIONS, "objective.prediction", f"one of {PREDICTIONS}", c.objective.prediction)
    _require(0.0 <= c.objective.cond_drop_prob <= 1.0, "objective.cond_drop_prob", "a value in [0, 1]", c.objective.cond_drop_prob)
    _require(c.sampler.name in SAMPLERS, "sampler.name", f"one of {list(SAMPLERS)}", c.sampler.name)
    _require(1 <= c.sampler.num_steps <= c.objective.num_timesteps, "sampler.num_steps",
             f"an int in [1, objective.num_timesteps={c.objective.num_timesteps}]", c.sampler.num_steps)
    _require(c.sampler.spacing in SPACINGS, "sampler.spacing", f"one of {SPACINGS}", c.sampler.spacing)
    _require(c.sampler.eta >= 0, "sampler.eta", "a value >= 0", c.sampler.eta)


def _validate_common(c: ml_collections.ConfigDict) -> None:
    """Fields every objective shares (optim, train)."""
    _require(c.optim.learning_rate > 0, "optim.learning_rate", "a value > 0", c.optim.learning_rate)
    _require(0.0 <= c.optim.ema_decay < 1.0, "optim.ema_decay", "a value in [0, 1)", c.optim.ema_decay)
    _require(c.train.steps >= 1, "train.steps", "an int >= 1", c.train.steps)
    _require(c.train.batch_size >= 1, "train.batch_size", "an int >= 1", c.train.batch_size)
    _require(isinstance(c.train.fsdp, int) and c.train.fsdp >= 1, "train.fsdp", "an int >= 1", c.train.fsdp)
    _require(c.train.log_every >= 1, "train.log_every", "an int >= 1", c.train.log_every)
    _require(c.train.ckpt_every >= 0, "train.ckpt_every", "an int >= 0", c.train.ckpt_every)
    _require(isinstance(c.train.keep_checkpoints, int) and c.train.keep_checkpoints >= 1,
             "train.keep_checkpoints", "an int >= 1", c.train.keep_checkpoints)
    _require(isinstance(c.train.get("steps_per_call", 1), int) and c.train.get("steps_per_call", 1) >= 1,
             "train.steps_per_call", "an int >= 1", c.train.get("steps_per_call"))
    _require(c.train.get("loss_blowup_factor", 0.0) == 0 or c.train.get("loss_blowup_factor", 0.0) > 1,
             "train.loss_blowup_factor", "0 (off) or a value > 1", c.train.get("loss_blowup_factor"))
    _require(isinstance(c.train.num_final_samples, int) and c.train.num_final_samples >= 0,
             "train.num_final_samples", "an int >= 0 (0: no samples.png)", c.train.num_final_samples)


def validate(c: ml_collections.ConfigDict) -> None:
    """Check values that would otherwise fail deep inside jit, naming the field: the shared
    sections, then the objective's own (VALIDATORS[objective.name])."""
    _require(c.objective.name in OBJECTIVES, "objective.name", f"one of {sorted(OBJECTIVES)}", c.objective.name)
    _validate_common(c)
    VALIDATORS[c.objective.name](c)


def dataset(c: ml_collections.ConfigDict):
    if c.data.get("pairs"):  # reflow: (noise, sample) pairs written by experiments.reflow
        from gen_jax.data.pairs import load_pairs
        return load_pairs(c.data.pairs, c.data.name)
    if c.data.name.startswith("folder:"):  # a prepared directory, streamed by grain
        from gen_jax.data.stream import open_prepared
        d = c.data
        return open_prepared(d.name[len("folder:"):], flip=d.get("flip", False), crop=d.get("crop", 0),
                             workers=d.get("workers", 0), threads=d.get("threads", 2),
                             prefetch=d.get("prefetch", 4))
    if c.data.get("flip") or c.data.get("crop"):
        raise ValueError(f"config.data.flip/crop: augmentation streams from a prepared directory "
                         f"(folder:PATH), not {c.data.name!r}; prepare it first with "
                         f"python -m experiments.prepare_data --source={c.data.name} --out=DIR")
    return load_dataset(c.data.name, c.data.dir or None, c.data.split)


def optimizer(c: ml_collections.ConfigDict):
    """(tx, learning-rate schedule) from config.optim (shared by every objective)."""
    return make_optimizer(c.optim.learning_rate, c.optim.warmup_steps, c.optim.grad_clip or None,
                          c.optim.weight_decay,
                          decay_steps=c.train.steps if c.optim.cosine_decay else None)


def build_ddpm(c: ml_collections.ConfigDict, image_shape, num_classes):
    m = c.model
    conditional = m.class_conditional
    if conditional and not num_classes:
        raise ValueError(f"config.model.class_conditional is set but dataset {c.data.name!r} has no labels")
    model = network(c, image_shape, num_classes if conditional else None)
    tx, lr = optimizer(c)
    o = c.objective
    return DiffusionObjective(model=model, schedule=make_schedule(o.schedule, o.num_timesteps),
                              image_shape=tuple(image_shape), tx=tx, lr_schedule=lr,
                              prediction=o.prediction,
                              num_classes=num_classes if conditional else None,
                              cond_drop_prob=o.cond_drop_prob if conditional else 0.0,
                              ema_decay=c.optim.ema_decay)


def build_noisy_classifier(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A noise-conditional classifier for classifier guidance (model.channels/channel_mult)."""
    from gen_jax.diffusion.classifier_objective import NoisyClassifierObjective
    from gen_jax.nn.classifier import NoisyClassifier

    if not num_classes:
        raise ValueError(f"objective 'noisy_classifier' needs labels; dataset {c.data.name!r} has none")
    tx, lr = optimizer(c)
    o = c.objective
    model = NoisyClassifier(num_classes, c.model.channels, tuple(c.model.channel_mult))
    return NoisyClassifierObjective(model=model, schedule=make_schedule(o.schedule, o.num_timesteps),
                                    image_shape=tuple(image_shape), tx=tx, lr_schedule=lr,
                                    num_classes=num_classes, ema_decay=c.optim.ema_decay)


# Registries: objective name -> builder, and -> its config validator. New families add one entry
# to each (their builders live in this file, in a section of their own below).
OBJECTIVES = {"ddpm": build_ddpm, "noisy_classifier": build_noisy_classifier}
VALIDATORS = {"ddpm": _validate_discrete_diffusion, "noisy_classifier": _validate_discrete_diffusion}


def objective(c: ml_collections.ConfigDict, image_shape, num_classes):
    validate(c)
    return OBJECTIVES[c.objective.name](c, image_shape, num_classes)


# --- the run's record in its workdir: what sample.py needs to rebuild the objective ---------------
def save_run_info(workdir: str, c: ml_collections.ConfigDict, image_shape, num_classes, class_names=None):
    if jax.process_index() != 0:
        return
    os.makedirs(workdir, exist_ok=True)
    info = {"config": json.loads(c.to_json()), "image_shape": list(image_shape),
            "num_classes": num_classes, "class_names": list(class_names) if class_names else None}
    with open(os.path.join(workdir, "run.json"), "w") as f:
        json.dump(info, f, indent=1)


# Runs of the flow family written before the one sampler registry named the flow's ODE solvers
# "euler" / "heun"; those names now mean the Karras σ-space samplers of every family.
_FLOW_SAMPLER_NAMES = {"euler": "rf_euler", "heun": "rf_heun"}


def _is_flow_run(c: ml_collections.ConfigDict, workdir: str) -> bool:
    o = c.objective
    if o.name in ("rectified_flow", "text_rf") or o.get("base") == "rectified_flow":
        return True
    if o.name == "controlnet" and o.get("base_workdir"):
        base = os.path.join(o.base_workdir, "run.json")
        if os.path.exists(base):
            with open(base) as f:
                return json.load(f)["config"]["objective"]["name"] == "rectified_flow"
    return False


def _migrate_sampler_name(c: ml_collections.ConfigDict, workdir: str) -> None:
    if c.sampler.get("name") in _FLOW_SAMPLER_NAMES and _is_flow_run(c, workdir):
        c.sampler.name = _FLOW_SAMPLER_NAMES[c.sampler.name]


def load_run_info(workdir: str):
    path = os.path.join(workdir, "run.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: --workdir must be a directory written by "
                                f"experiments.main (it holds run.json and checkpoints/)")
    with open(path) as f:
        info = json.load(f)
    c = ml_collections.ConfigDict(info["config"])
    _migrate_sampler_name(c, workdir)
    # JSON turns tuples into lists; the network wants tuples.
    for k in ("channel_mult", "attention_resolutions"):
        c.model[k] = tuple(c.model[k])
    return c, tuple(info["image_shape"]), info["num_classes"], info.get("class_names")


def image_info(ds) -> tuple:
    return tuple(ds.images.shape[1:]), ds.num_classes




# --- gan ------------------------------------------------------------------------------------------
def _gan_dcgan(m, image_shape, classes):
    from gen_jax.nn import dcgan

    return (dcgan.Generator(image_shape, m.channels, classes, m.g_norm),
            dcgan.Discriminator(m.get("d_channels", 0) or m.channels, classes,
                                m.get("d_spectral_norm", False)))


def _gan_sngan(m, image_shape, classes):
    from gen_jax.nn import sngan

    return (sngan.Generator(image_shape, m.channels, classes, m.g_norm),
            sngan.Discriminator(m.d_channels or m.channels, classes, m.d_spectral_norm))


def _gan_stylegan2(m, image_shape, classes):
    from gen_jax.nn import sngan, stylegan

    return (stylegan.Generator(image_shape, m.channels, m.w_dim, m.mapping_layers, classes,
                               m.style_mixing_prob, m.w_avg_beta),
            sngan.Discriminator(m.d_channels or m.channels, classes, m.d_spectral_norm))


# model.name -> (generator, discriminator) builder, and the image-size check of that generator
GAN_MODELS = {"dcgan": _gan_dcgan, "sngan": _gan_sngan, "stylegan2": _gan_stylegan2}


def _gan_size_check(name: str):
    from gen_jax.nn.dcgan import base_size
    from gen_jax.nn.stylegan import synthesis_size

    return synthesis_size if name == "stylegan2" else base_size


def _validate_gan(c: ml_collections.ConfigDict) -> None:
    from gen_jax.gan.augment import parse_policy
    from gen_jax.gan.losses import LOSSES
    from gen_jax.nn.dcgan import NORMS

    m, o = c.model, c.objective
    _require(m.name in GAN_MODELS, "model.name", f"one of {sorted(GAN_MODELS)} for objective 'gan'", m.name)
    _require(m.channels >= 1, "model.channels", "a positive int", m.channels)
    _require(m.get("d_channels", 0) >= 0, "model.d_channels", "an int >= 0 (0: model.channels)", m.get("d_channels"))
    _require(m.z_dim >= 1, "model.z_dim", "a positive int", m.z_dim)
    _require(m.g_norm in NORMS, "model.g_norm", f"one of {NORMS}", m.g_norm)
    if m.name == "stylegan2":
        _require(m.w_dim >= 1, "model.w_dim", "a positive int", m.w_dim)
        _require(m.mapping_layers >= 1, "model.mapping_layers", "an int >= 1", m.mapping_layers)
        _require(0.0 <= m.style_mixing_prob <= 1.0, "model.style_mixing_prob", "a value in [0, 1]", m.style_mixing_prob)
        _require(0.0 <= m.w_avg_beta < 1.0, "model.w_avg_beta", "a value in [0, 1)", m.w_avg_beta)
    _require(o.loss in LOSSES, "objective.loss", f"one of {LOSSES}", o.loss)
    _require(isinstance(o.n_critic, int) and o.n_critic >= 1, "objective.n_critic", "an int >= 1", o.n_critic)
    _require(o.gp_weight >= 0, "objective.gp_weight", "a value >= 0", o.gp_weight)
    _require(o.r1_gamma >= 0, "objective.r1_gamma", "a value >= 0", o.r1_gamma)
    try:
        parse_policy(o.get("diffaugment", ""))
    except ValueError as e:
        raise ValueError(f"config.objective.diffaugment: {e}") from None
    _require(c.optim.d_learning_rate > 0, "optim.d_learning_rate", "a value > 0", c.optim.d_learning_rate)
    _require(0.0 <= c.optim.b1 < 1.0, "optim.b1", "a value in [0, 1)", c.optim.b1)
    _require(0.0 <= c.optim.b2 < 1.0, "optim.b2", "a value in [0, 1)", c.optim.b2)
    psi = c.sampler.get("truncation", 1.0)
    _require(psi == 1.0 or m.name == "stylegan2", "sampler.truncation",
             "1.0 (truncation needs model.name 'stylegan2')", psi)


def build_gan(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A generator/discriminator pair (model.name: dcgan | sngan | stylegan2) with the alternating
    GAN objective (configs/gan_common.py)."""
    from gen_jax.gan.objective import GANObjective

    m, o, opt = c.model, c.objective, c.optim
    if m.class_conditional and not num_classes:
        raise ValueError(f"config.model.class_conditional is set but dataset {c.data.name!r} has no labels")
    h, w = image_shape[:2]
    try:
        _gan_size_check(m.name)(h)
    except ValueError as e:
        raise ValueError(f"config.data.name: {c.data.name!r} images are {h}x{w}; {e}") from None
    if h != w:
        raise ValueError(f"config.data.name: {m.name} needs square images, {c.data.name!r} has {h}x{w}")
    classes = num_classes if m.class_conditional else None
    decay = c.train.steps if opt.cosine_decay else None

    def tx(lr, steps):
        return make_optimizer(lr, opt.warmup_steps, opt.grad_clip or None, opt.weight_decay,
                              b1=opt.b1, b2=opt.b2, decay_steps=steps)

    tx_g, lr_g = tx(opt.learning_rate, decay)
    tx_d, lr_d = tx(opt.d_learning_rate, decay and decay * o.n_critic)
    generator, discriminator = GAN_MODELS[m.name](m, tuple(image_shape), classes)
    return GANObjective(generator=generator, discriminator=discriminator,
                        image_shape=tuple(image_shape), tx_g=tx_g, tx_d=tx_d, lr_schedule_g=lr_g,
                        lr_schedule_d=lr_d, z_dim=m.z_dim, loss=o.loss, n_critic=o.n_critic,
                        gp_weight=o.gp_weight, r1_gamma=o.r1_gamma, num_classes=classes,
                        ema_decay=opt.ema_decay, diffaugment=o.get("diffaugment", ""),
                        truncation=c.sampler.get("truncation", 1.0))


OBJECTIVES["gan"] = build_gan
VALIDATORS["gan"] = _validate_gan
# --- rectified flow ---------------------------------------------------------------------------
def _validate_rectified_flow(c: ml_collections.ConfigDict) -> None:
    from gen_jax.flow.rectified_flow import TIME_SAMPLINGS

    _validate_model(c)
    o = c.objective
    _require(o.time_sampling in TIME_SAMPLINGS, "objective.time_sampling", f"one of {TIME_SAMPLINGS}", o.time_sampling)
    _require(o.logit_scale > 0, "objective.logit_scale", "a value > 0", o.logit_scale)
    _require(o.shift > 0, "objective.shift", "a value > 0", o.shift)
    _require(o.time_scale > 0, "objective.time_scale", "a value > 0", o.time_scale)
    _require(0.0 <= o.cond_drop_prob <= 1.0, "objective.cond_drop_prob", "a value in [0, 1]", o.cond_drop_prob)
    _require(c.sampler.name in SAMPLERS, "sampler.name", f"one of {list(SAMPLERS)}", c.sampler.name)
    _require(c.sampler.num_steps >= 1, "sampler.num_steps", "an int >= 1", c.sampler.num_steps)
    _require(c.sampler.shift > 0, "sampler.shift", "a value > 0", c.sampler.shift)


def build_rectified_flow(c: ml_collections.ConfigDict, image_shape, num_classes):
    from gen_jax.flow.objective import FlowObjective

    m = c.model
    conditional = m.class_conditional
    if conditional and not num_classes:
        raise ValueError(f"config.model.class_conditional is set but dataset {c.data.name!r} has no labels")
    model = network(c, image_shape, num_classes if conditional else None)
    tx, lr = optimizer(c)
    o = c.objective
    return FlowObjective(model=model, image_shape=tuple(image_shape), tx=tx, lr_schedule=lr,
                         time_sampling=o.time_sampling, logit_mean=o.logit_mean,
                         logit_scale=o.logit_scale, shift=o.shift, time_scale=o.time_scale,
                         num_classes=num_classes if conditional else None,
                         cond_drop_prob=o.cond_drop_prob if conditional else 0.0,
                         ema_decay=c.optim.ema_decay, sample_shift=c.sampler.shift)


OBJECTIVES["rectified_flow"] = build_rectified_flow
VALIDATORS["rectified_flow"] = _validate_rectified_flow
# --- networks: config.model -> module, one builder and one validator per MODELS entry -------------
# UNet options that only imported checkpoints set (experiments/import_diffusers.py); a config
# without them builds gen_jax's own U-Net.
UNET_IMPORT_OPTIONS = ("out_channels", "time_flip_sin_to_cos", "time_freq_shift", "time_scale_shift",
                       "norm_groups", "norm_eps", "attention_head_dim", "downsample_padding")


def _build_unet(m: ml_collections.ConfigDict, image_shape, num_classes):
    # Attention runs at feature-map sizes; levels halve H from image_shape[0].
    return UNet(channels=m.channels, channel_mult=tuple(m.channel_mult), num_res_blocks=m.num_res_blocks,
                attention_resolutions=tuple(m.attention_resolutions), num_heads=m.num_heads,
                dropout=m.dropout, num_classes=num_classes, dtype=_compute_dtype(m),
                **{k: m[k] for k in UNET_IMPORT_OPTIONS if k in m})


def _compute_dtype(m: ml_collections.ConfigDict):
    """None (flax's default, float32) or bfloat16 compute; parameters stay float32 either way."""
    name = m.get("dtype", "float32")
    return None if name == "float32" else DTYPES[name]


def _build_dit(m: ml_collections.ConfigDict, image_shape, num_classes):
    h, w = image_shape[:2]
    _require(h % m.patch_size == 0 and w % m.patch_size == 0, "model.patch_size",
             f"a divisor of the image size {h}x{w}", m.patch_size)
    return DiT(patch_size=m.patch_size, hidden_size=m.hidden_size, depth=m.depth,
               num_heads=m.num_heads, dropout=m.dropout, num_classes=num_classes,
               dtype=_compute_dtype(m))


def _validate_dit(c: ml_collections.ConfigDict) -> None:
    m = c.model
    _require(m.patch_size >= 1, "model.patch_size", "a positive int", m.patch_size)
    _require(m.depth >= 1, "model.depth", "a positive int", m.depth)
    _require(m.num_heads >= 1, "model.num_heads", "a positive int", m.num_heads)
    _require(m.hidden_size >= 4 and m.hidden_size % 4 == 0 and m.hidden_size % m.num_heads == 0,
             "model.hidden_size", f"a multiple of 4 and of model.num_heads={m.num_heads}", m.hidden_size)
    _require(0.0 <= m.dropout < 1.0, "model.dropout", "a value in [0, 1)", m.dropout)


_MODEL_BUILDERS = {"unet": _build_unet, "dit": _build_dit}
_MODEL_VALIDATORS = {"unet": _validate_unet, "dit": _validate_dit}


def network(c: ml_collections.ConfigDict, image_shape, num_classes=None):
    """The network named by config.model.name, for images of image_shape (H, W, C)."""
    _validate_model(c)
    return _MODEL_BUILDERS[c.model.name](c.model, tuple(image_shape), num_classes)


# --- vae ------------------------------------------------------------------------------------------
def _validate_vae(c: ml_collections.ConfigDict) -> None:
    from gen_jax.vae.objective import LIKELIHOODS

    m, o = c.model, c.objective
    _require(m.name == "vae", "model.name", "'vae' (objective.name is 'vae')", m.name)
    _require(m.channels >= 1, "model.channels", "a positive int", m.channels)
    _require(len(m.channel_mult) >= 1 and all(k >= 1 for k in m.channel_mult),
             "model.channel_mult", "a non-empty tuple of positive ints", m.channel_mult)
    _require(m.latent_dim >= 1, "model.latent_dim", "a positive int", m.latent_dim)
    _require(o.likelihood in LIKELIHOODS, "objective.likelihood", f"one of {LIKELIHOODS}", o.likelihood)
    _require(o.beta >= 0, "objective.beta", "a value >= 0", o.beta)
    _require(o.obs_sigma > 0, "objective.obs_sigma", "a value > 0", o.obs_sigma)


def build_vae(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A convolutional VAE (model.channels/channel_mult/latent_dim); labels are not used."""
    from gen_jax.nn.vae import VAE
    from gen_jax.vae.objective import VAEObjective

    del num_classes
    h, w = image_shape[:2]
    f = 2 ** len(c.model.channel_mult)
    _require(h % f == 0 and w % f == 0, "model.channel_mult",
             f"at most as many levels as halvings of the image size {h}x{w} (2^levels must divide it)",
             c.model.channel_mult)
    model = VAE(tuple(image_shape), c.model.channels, tuple(c.model.channel_mult), c.model.latent_dim)
    tx, lr = optimizer(c)
    o = c.objective
    return VAEObjective(model=model, image_shape=tuple(image_shape), tx=tx, lr_schedule=lr,
                        beta=o.beta, likelihood=o.likelihood, obs_sigma=o.obs_sigma,
                        ema_decay=c.optim.ema_decay)


OBJECTIVES["vae"] = build_vae
VALIDATORS["vae"] = _validate_vae


# --- evaluation during training (train.eval_every) ------------------------------------------------
def evaluator(c: ml_collections.ConfigDict, ds, sample, mesh=None):
    """The training loop's evaluate(params, step) from config.train.eval_*: class coverage,
    precision/recall and FID of sample(params, key, n) in the dataset's feature-network space,
    against train.eval_real random training images (features computed here, once). None when
    train.eval_every is 0, or when the dataset has no feature network (a one-line message says so)."""
    import numpy as np

    from gen_jax.metrics.feature_nets import load_feature_net, weights_path
    from gen_jax.train.evaluation import make_evaluator, real_reference

    t = c.train
    every = t.get("eval_every", 0)
    _require(isinstance(every, int) and every >= 0, "train.eval_every", "an int >= 0", every)
    if not every:
        return None
    _require(t.eval_samples > 3, "train.eval_samples", "an int > 3 (k-NN precision/recall, k = 3)",
             t.eval_samples)
    _require(t.eval_real > 3, "train.eval_real", "an int > 3", t.eval_real)
    path = weights_path(ds.name)
    if not os.path.exists(path):
        if jax.process_index() == 0:
            print(f"gen_jax: no evaluation (train.eval_every={every} ignored): dataset {ds.name!r} "
                  f"has no feature network ({path} not found)")
        return None
    net = load_feature_net(ds.name)
    if tuple(net.image_shape) != tuple(ds.images.shape[1:]):
        raise ValueError(f"config.data.name: the {ds.name!r} feature network takes images of shape "
                         f"{net.image_shape}, the dataset has {ds.images.shape[1:]}")
    rng = np.random.default_rng(c.seed)
    idx = np.sort(rng.choice(len(ds.images), min(t.eval_real, len(ds.images)), replace=False))
    ref = real_reference(net, ds.images[idx], t.eval_samples, seed=c.seed)
    return make_evaluator(sample, net, ref, t.eval_samples, seed=c.seed, mesh=mesh)


# --- distillation (progressive, consistency) -------------------------------------------------------
DISTILL_TEACHERS = ("ddpm", "rectified_flow")  # objective names a teacher workdir may hold


def _validate_distill(c: ml_collections.ConfigDict) -> None:
    from gen_jax.distill.consistency import LOSSES

    o, s = c.objective, c.sampler
    _require(isinstance(o.teacher_workdir, str) and bool(o.teacher_workdir), "objective.teacher_workdir",
             f"the workdir of a trained teacher (experiments.main, objective {DISTILL_TEACHERS})",
             o.teacher_workdir)
    _require(o.teacher_checkpoint >= 0, "objective.teacher_checkpoint", "an int >= 0 (0: latest)",
             o.teacher_checkpoint)
    _require(o.teacher_guidance >= 0, "objective.teacher_guidance", "a value >= 0", o.teacher_guidance)
    _require(s.spacing in SPACINGS, "sampler.spacing", f"one of {SPACINGS}", s.spacing)
    _require(s.num_steps >= 1, "sampler.num_steps", "an int >= 1", s.num_steps)
    if o.name == "progressive_distill":
        _require(o.rounds >= 1, "objective.rounds", "an int >= 1", o.rounds)
        _require(o.teacher_steps >= 2 and o.teacher_steps % 2 ** o.rounds == 0, "objective.teacher_steps",
                 f"a multiple of 2**objective.rounds = {2 ** o.rounds}", o.teacher_steps)
        _require(c.train.steps % o.rounds == 0, "train.steps",
                 f"a multiple of objective.rounds = {o.rounds} (steps per round)", c.train.steps)
        _require(s.name in ("", "ddim", "rf_euler"), "sampler.name",
                 "'' (the student's: ddim for a ddpm teacher, rf_euler for a flow teacher), 'ddim' or 'rf_euler'", s.name)
    else:
        _require(o.num_scales >= 1, "objective.num_scales", "an int >= 1", o.num_scales)
        _require(o.sigma_data > 0, "objective.sigma_data", "a value > 0", o.sigma_data)
        _require(0.0 <= o.target_ema < 1.0, "objective.target_ema", "a value in [0, 1)", o.target_ema)
        _require(o.loss in LOSSES, "objective.loss", f"one of {LOSSES}", o.loss)
        _require(s.name in ("", "consistency"), "sampler.name", "'' or 'consistency'", s.name)


def _load_teacher(c: ml_collections.ConfigDict, image_shape):
    """(teacher objective, its EMA parameters) from objective.teacher_workdir, checked against c."""
    from experiments.sampling import load_objective_and_params

    o = c.objective
    if not os.path.exists(os.path.join(o.teacher_workdir, "run.json")):
        raise FileNotFoundError(f"config.objective.teacher_workdir: {o.teacher_workdir!r} holds no "
                                f"run.json; train the teacher first with experiments.main")
    c_t, teacher, state, _ = load_objective_and_params(o.teacher_workdir, o.teacher_checkpoint or None)
    _require(c_t.objective.name in DISTILL_TEACHERS, "objective.teacher_workdir",
             f"a run of objective {DISTILL_TEACHERS}", f"{o.teacher_workdir} ({c_t.objective.name})")
    _require(c_t.data.name == c.data.name and tuple(teacher.image_shape) == tuple(image_shape),
             "data.name", f"the teacher's dataset {c_t.data.name!r} {tuple(teacher.image_shape)}",
             f"{c.data.name} {tuple(image_shape)}")
    return teacher, state.ema_params


def build_distill(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A progressive or consistency student of the teacher in objective.teacher_workdir: the
    teacher's network and parametrisation (its config's model/objective sections), this config's
    optimiser and training fields. The teacher's workdir must exist whenever the student is built
    (training and sampling alike)."""
    from gen_jax.distill import ConsistencyDistillObjective, ProgressiveDistillObjective, TeacherODE

    del num_classes  # the teacher's
    teacher, teacher_params = _load_teacher(c, image_shape)
    o = c.objective
    ode = TeacherODE(teacher, spacing=c.sampler.spacing, shift=getattr(teacher, "sample_shift", 1.0))
    tx, lr = optimizer(c)
    common = dict(teacher=ode, teacher_params=teacher_params, tx=tx, lr_schedule=lr,
                  teacher_guidance=o.teacher_guidance, ema_decay=c.optim.ema_decay)
    if o.name == "progressive_distill":
        return ProgressiveDistillObjective(**common, teacher_steps=o.teacher_steps, rounds=o.rounds,
                                           steps_per_round=c.train.steps // o.rounds)
    return ConsistencyDistillObjective(**common, num_scales=o.num_scales, sigma_data=o.sigma_data,
                                       target_ema=o.target_ema, loss=o.loss,
                                       sample_steps=c.sampler.num_steps)


OBJECTIVES["progressive_distill"] = build_distill
OBJECTIVES["consistency_distill"] = build_distill
VALIDATORS["progressive_distill"] = _validate_distill
VALIDATORS["consistency_distill"] = _validate_distill


# --- generalized diffusion (objective.name "diffusion": any process × any prediction) -------------
def _process_args(o: ml_collections.ConfigDict) -> dict:
    """The fields of config.objective that parametrise objective.process."""
    fields = {"vp_sde": ("beta_min", "beta_max"), "ve_sde": ("sigma_min", "sigma_max"),
              "ddpm_linear": ("num_timesteps",), "ddpm_cosine": ("num_timesteps",),
              "edm": ("sigma_min", "sigma_max", "rho")}
    return {k: o[k] for k in fields.get(o.process, ())}


def _validate_general_diffusion(c: ml_collections.ConfigDict) -> None:
    from gen_jax.diffusion.general_objective import ALL_SAMPLERS
    from gen_jax.diffusion.process import PREDICTIONS as GENERAL_PREDICTIONS, PROCESSES
    from gen_jax.flow.rectified_flow import TIME_SAMPLINGS

    _validate_model(c)
    o = c.objective
    _require(o.process in PROCESSES, "objective.process", f"one of {list(PROCESSES)}", o.process)
    _require(o.prediction in GENERAL_PREDICTIONS, "objective.prediction", f"one of {GENERAL_PREDICTIONS}", o.prediction)
    _require(o.time_sampling in TIME_SAMPLINGS, "objective.time_sampling", f"one of {TIME_SAMPLINGS}", o.time_sampling)
    _require(o.logit_scale > 0, "objective.logit_scale", "a value > 0", o.logit_scale)
    _require(o.shift > 0, "objective.shift", "a value > 0", o.shift)
    _require(o.time_scale > 0, "objective.time_scale", "a value > 0", o.time_scale)
    _require(0 <= o.beta_min < o.beta_max, "objective.beta_max", f"a value > objective.beta_min={o.beta_min} >= 0", o.beta_max)
    _require(0 < o.sigma_min < o.sigma_max, "objective.sigma_max", f"a value > objective.sigma_min={o.sigma_min} > 0", o.sigma_max)
    _require(o.num_timesteps >= 2, "objective.num_timesteps", "an int >= 2", o.num_timesteps)
    _require(0.0 <= o.cond_drop_prob <= 1.0, "objective.cond_drop_prob", "a value in [0, 1]", o.cond_drop_prob)
    _require(c.sampler.name in ALL_SAMPLERS, "sampler.name", f"one of {list(ALL_SAMPLERS)}", c.sampler.name)
    _require(c.sampler.num_steps >= 1, "sampler.num_steps", "an int >= 1", c.sampler.num_steps)
    _require(c.sampler.spacing in SPACINGS, "sampler.spacing", f"one of {SPACINGS}", c.sampler.spacing)
    _require(c.sampler.shift > 0, "sampler.shift", "a value > 0", c.sampler.shift)


def build_general_diffusion(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A network trained on objective.process (process.py) in objective.prediction; samplers: every
    SAMPLERS name on the VP view, rf_euler | rf_heun on the rectified-flow view."""
    from gen_jax.diffusion.general_objective import GeneralDiffusionObjective
    from gen_jax.diffusion.process import make_process

    m, o = c.model, c.objective
    conditional = m.class_conditional
    if conditional and not num_classes:
        raise ValueError(f"config.model.class_conditional is set but dataset {c.data.name!r} has no labels")
    model = network(c, image_shape, num_classes if conditional else None)
    tx, lr = optimizer(c)
    return GeneralDiffusionObjective(
        model=model, process=make_process(o.process, **_process_args(o)),
        image_shape=tuple(image_shape), tx=tx, lr_schedule=lr, prediction=o.prediction,
        time_sampling=o.time_sampling, logit_mean=o.logit_mean, logit_scale=o.logit_scale,
        shift=o.shift, time_scale=o.time_scale, num_classes=num_classes if conditional else None,
        cond_drop_prob=o.cond_drop_prob if conditional else 0.0, ema_decay=c.optim.ema_decay,
        preview_sampler=c.sampler.name, preview_steps=c.sampler.num_steps)


OBJECTIVES["diffusion"] = build_general_diffusion
VALIDATORS["diffusion"] = _validate_general_diffusion


# --- latent diffusion: the KL autoencoder, and DDPM / rectified flow on its latents ---------------
def _validate_autoencoder(c: ml_collections.ConfigDict) -> None:
    from gen_jax.gan.losses import LOSSES
    from gen_jax.latent.autoencoder import RECONSTRUCTIONS

    m, o = c.model, c.objective
    _require(m.name == "autoencoder_kl", "model.name", "'autoencoder_kl' (objective.name is 'autoencoder_kl')", m.name)
    _require(m.channels >= 1, "model.channels", "a positive int", m.channels)
    _require(len(m.channel_mult) >= 1 and all(k >= 1 for k in m.channel_mult),
             "model.channel_mult", "a non-empty tuple of positive ints", m.channel_mult)
    _require(m.num_res_blocks >= 1, "model.num_res_blocks", "a positive int", m.num_res_blocks)
    _require(m.latent_channels >= 1, "model.latent_channels", "a positive int", m.latent_channels)
    _require(m.d_channels >= 1, "model.d_channels", "a positive int", m.d_channels)
    _require(m.d_layers >= 1, "model.d_layers", "a positive int", m.d_layers)
    _require(o.reconstruction in RECONSTRUCTIONS, "objective.reconstruction", f"one of {RECONSTRUCTIONS}", o.reconstruction)
    _require(o.kl_weight >= 0, "objective.kl_weight", "a value >= 0", o.kl_weight)
    _require(o.disc_loss in LOSSES[:3], "objective.disc_loss", f"one of {LOSSES[:3]}", o.disc_loss)
    _require(isinstance(o.disc_start, int) and o.disc_start >= 0, "objective.disc_start", "an int >= 0", o.disc_start)
    _require(o.disc_weight >= 0, "objective.disc_weight", "a value >= 0", o.disc_weight)
    _require(c.optim.d_learning_rate > 0, "optim.d_learning_rate", "a value > 0", c.optim.d_learning_rate)
    _require(0.0 <= c.optim.b1 < 1.0, "optim.b1", "a value in [0, 1)", c.optim.b1)
    _require(0.0 <= c.optim.b2 < 1.0, "optim.b2", "a value in [0, 1)", c.optim.b2)


def _autoencoder_modules(m: ml_collections.ConfigDict, image_shape):
    from gen_jax.nn.autoencoder import AutoencoderKL, PatchDiscriminator, downsample_factor

    h, w = image_shape[:2]
    f = downsample_factor(m.channel_mult)
    _require(h % f == 0 and w % f == 0, "model.channel_mult",
             f"a level count whose downsampling 2^(levels-1) divides the image size {h}x{w}", m.channel_mult)
    return (AutoencoderKL(tuple(image_shape), m.channels, tuple(m.channel_mult), m.num_res_blocks,
                          m.latent_channels),
            PatchDiscriminator(m.d_channels, m.d_layers))


def build_autoencoder(c: ml_collections.ConfigDict, image_shape, num_classes):
    """The KL autoencoder with its patch discriminator (configs/autoencoder_cifar10.py)."""
    from gen_jax.latent.autoencoder import AutoencoderObjective

    del num_classes
    m, o, opt = c.model, c.objective, c.optim
    model, disc = _autoencoder_modules(m, image_shape)

    def tx(lr):
        return make_optimizer(lr, opt.warmup_steps, opt.grad_clip or None, opt.weight_decay,
                              b1=opt.b1, b2=opt.b2, decay_steps=c.train.steps if opt.cosine_decay else None)

    (tx_ae, lr_ae), (tx_d, lr_d) = tx(opt.learning_rate), tx(opt.d_learning_rate)
    return AutoencoderObjective(model=model, discriminator=disc, image_shape=tuple(image_shape),
                                tx=tx_ae, tx_d=tx_d, lr_schedule=lr_ae, lr_schedule_d=lr_d,
                                reconstruction=o.reconstruction, kl_weight=o.kl_weight,
                                disc_loss=o.disc_loss, disc_start=o.disc_start,
                                disc_weight=o.disc_weight, adaptive=o.adaptive,
                                ema_decay=opt.ema_decay)


LATENT_BASES = ("ddpm", "rectified_flow")


def _validate_latent_diffusion(c: ml_collections.ConfigDict) -> None:
    o = c.objective
    _require(o.base in LATENT_BASES, "objective.base", f"one of {LATENT_BASES}", o.base)
    _require(bool(o.autoencoder_workdir) and os.path.exists(os.path.join(o.autoencoder_workdir, "run.json")),
             "objective.autoencoder_workdir", "the workdir of a trained autoencoder_kl run (with run.json)",
             o.autoencoder_workdir)
    _require(o.latent_scale >= 0, "objective.latent_scale", "a value >= 0 (0: estimate from data)", o.latent_scale)
    _require(o.scale_batch >= 2, "objective.scale_batch", "an int >= 2", o.scale_batch)
    VALIDATORS[o.base](c)


def latent_scale_of(ae_workdir: str, objective, params, step: int, c: ml_collections.ConfigDict) -> float:
    """The latent scale factor 1/std of the posterior means of objective.scale_batch random
    training images (seed config.seed), stored with the autoencoder run (ae_workdir/latent_scale.json) the first time
    and read from there after (recomputed when the autoencoder's checkpoint step changed)."""
    import numpy as np

    path = os.path.join(ae_workdir, "latent_scale.json")
    if os.path.exists(path):
        with open(path) as f:
            rec = json.load(f)
        if rec.get("checkpoint_step") == step and rec.get("num_images") == c.objective.scale_batch:
            return float(rec["scale"])
    images = dataset(c).images  # random rows: a split may be sorted by class (the CIFAR-10 copy is)
    images = images[np.sort(np.random.default_rng(c.seed).choice(
        len(images), min(c.objective.scale_batch, len(images)), replace=False))]
    scale = float(jax.jit(objective.latent_scale)(params, images))
    if jax.process_index() == 0:
        with open(path, "w") as f:
            json.dump({"scale": scale, "std": 1.0 / scale, "num_images": int(len(images)),
                       "data": c.data.name, "checkpoint_step": step,
                       "estimator": f"1/std of the posterior means of num_images random training images (seed {c.seed})"},
                      f, indent=1)
    return scale


def build_latent_diffusion(c: ml_collections.ConfigDict, image_shape, num_classes):
    """objective.base ('ddpm' | 'rectified_flow', with its model/objective/sampler fields) on the
    scaled latents of the frozen autoencoder in objective.autoencoder_workdir."""
    from experiments.sampling import load_objective_and_params
    from gen_jax.latent.autoencoder import AutoencoderObjective
    from gen_jax.latent.diffusion import LatentDiffusionObjective

    o = c.objective
    _, ae, ae_state, _ = load_objective_and_params(o.autoencoder_workdir)
    _require(isinstance(ae, AutoencoderObjective), "objective.autoencoder_workdir",
             "the workdir of an autoencoder_kl run", f"{o.autoencoder_workdir} ({type(ae).__name__})")
    _require(tuple(ae.image_shape) == tuple(image_shape), "objective.autoencoder_workdir",
             f"an autoencoder of images {tuple(image_shape)} (config.data.name={c.data.name!r})",
             f"{o.autoencoder_workdir} (images {tuple(ae.image_shape)})")
    params = ae_state.ema_params
    scale = o.latent_scale or latent_scale_of(o.autoencoder_workdir, ae, params,
                                              int(jax.device_get(ae_state.step)), c)
    inner = OBJECTIVES[o.base](c, ae.latent_shape, num_classes)
    return LatentDiffusionObjective(inner=inner, autoencoder=ae, ae_params=params, scale=scale,
                                    sample_posterior=o.sample_posterior)


OBJECTIVES["autoencoder_kl"] = build_autoencoder
VALIDATORS["autoencoder_kl"] = _validate_autoencoder
OBJECTIVES["latent_diffusion"] = build_latent_diffusion
VALIDATORS["latent_diffusion"] = _validate_latent_diffusion


# --- text-to-image --------------------------------------------------------------------------------
# objective name -> the objective it conditions on captions (its fields, builder and validator)
TEXT_OBJECTIVES = {"text_ddpm": "ddpm", "text_rf": "rectified_flow"}


def _validate_text(c: ml_collections.ConfigDict) -> None:
    VALIDATORS[TEXT_OBJECTIVES[c.objective.name]](c)
    t = c.get("text")
    _require(t is not None, "text", "a section (experiments/configs/text_cifar10.py: text_section)", t)
    _require(not c.model.class_conditional, "model.class_conditional",
             "False for a text-to-image run (the caption is the condition)", c.model.class_conditional)
    _require(isinstance(t.max_len, int) and t.max_len >= 2, "text.max_len", "an int >= 2 (<bos> + a word)", t.max_len)
    _require(t.num_heads >= 1, "text.num_heads", "a positive int", t.num_heads)
    _require(t.width >= 1 and t.width % t.num_heads == 0, "text.width",
             f"a positive multiple of text.num_heads={t.num_heads}", t.width)
    _require(t.depth >= 0, "text.depth", "an int >= 0", t.depth)


def text_tokenizer(c: ml_collections.ConfigDict):
    """The run's tokenizer: config.text.vocab (fitted by batch_extras) and text.max_len."""
    from gen_jax.nn.text import Tokenizer

    if not c.text.vocab:
        raise ValueError("config.text.vocab: expected the run's vocabulary (experiments.main fits it "
                         "from the training captions through build.batch_extras), found it empty")
    return Tokenizer(tuple(c.text.vocab), c.text.max_len)


def batch_extras(c: ml_collections.ConfigDict, ds):
    """Per-example arrays the training loop batches with the images: the dataset's own extras
    (reflow pairs: {"noise": [N, H, W, C]}), plus {"tokens": [N, L]} of the dataset's captions
    (gen_jax.data.captions) for text runs; None when there are none. An empty text.vocab is
    fitted from these captions here, so the vocabulary is saved with the run (run.json)."""
    extras = dict(getattr(ds, "extras", None) or {})
    if c.objective.name not in TEXT_OBJECTIVES:
        return extras or None
    from gen_jax.data.captions import dataset_captions
    from gen_jax.nn.text import Tokenizer

    captions = dataset_captions(ds, c.data.dir or None, c.data.split, seed=c.seed)
    if not c.text.vocab:
        c.text.vocab = Tokenizer.fit(captions, c.text.max_len).vocab
    tok = text_tokenizer(c)
    cut = sum(tok.truncated(s) for s in captions)
    if cut and jax.process_index() == 0:
        print(f"gen_jax: {cut} of {len(captions)} captions are longer than text.max_len - 1 = "
              f"{c.text.max_len - 1} words and were truncated")
    extras["tokens"] = tok.encode(captions)
    return extras


def build_text(c: ml_collections.ConfigDict, image_shape, num_classes):
    """The base objective of TEXT_OBJECTIVES with its network wrapped in a text encoder
    (nn.text.TextConditioned; backbone with cross_attention=True) and captions for labels."""
    import dataclasses

    from gen_jax.diffusion.text_objective import TextDiffusionObjective
    from gen_jax.flow.text_objective import TextFlowObjective
    from gen_jax.nn.text import TextConditioned, TextEncoder

    del num_classes
    t = c.text
    tok = text_tokenizer(c)
    base = OBJECTIVES[TEXT_OBJECTIVES[c.objective.name]](c, image_shape, None)
    encoder = TextEncoder(tok.vocab_size, tok.max_len, t.width, t.depth, t.num_heads)
    model = TextConditioned(base.model.clone(cross_attention=True), encoder)
    cls = TextDiffusionObjective if c.objective.name == "text_ddpm" else TextFlowObjective
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    fields.update(model=model, num_classes=None, cond_drop_prob=c.objective.cond_drop_prob,
                  tokenizer=tok, preview_prompts=tuple(t.preview_prompts))
    return cls(**fields)


for _name in TEXT_OBJECTIVES:
    OBJECTIVES[_name] = build_text
    VALIDATORS[_name] = _validate_text


# --- controlnet -----------------------------------------------------------------------------------
CONTROLNET_BASES = ("ddpm", "rectified_flow")


def _validate_controlnet(c: ml_collections.ConfigDict) -> None:
    from gen_jax.utils.conditions import CONDITIONS

    o = c.objective
    _require(bool(o.base_workdir), "objective.base_workdir",
             f"the workdir of a trained U-Net run (objective {CONTROLNET_BASES})", o.base_workdir)
    _require(o.base_step >= 0, "objective.base_step", "an int >= 0 (0: latest)", o.base_step)
    _require(o.condition in CONDITIONS, "objective.condition", f"one of {sorted(CONDITIONS)}", o.condition)
    _require(c.model.hint_channels >= 1, "model.hint_channels", "a positive int", c.model.hint_channels)
    try:
        bc, _, _, _ = load_run_info(o.base_workdir)
    except FileNotFoundError as e:
        raise ValueError(f"config.objective.base_workdir: {e}") from None
    _require(bc.objective.name in CONTROLNET_BASES, "objective.base_workdir",
             f"a run with objective.name in {CONTROLNET_BASES}", bc.objective.name)
    _require(bc.model.name == "unet", "objective.base_workdir", "a run with model.name 'unet'", bc.model.name)
    _require(c.sampler.name in SAMPLERS, "sampler.name", f"one of {list(SAMPLERS)}", c.sampler.name)
    if bc.objective.name != "rectified_flow":
        T = bc.objective.num_timesteps
        _require(1 <= c.sampler.num_steps <= T, "sampler.num_steps", f"an int in [1, {T}]", c.sampler.num_steps)


def build_controlnet(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A ControlNet on the frozen U-Net of objective.base_workdir (its EMA parameters at
    objective.base_step), trained on condition maps of c.data's images; its preview maps come from
    the first test images."""
    from experiments.sampling import load_objective_and_params
    from gen_jax.data import load_dataset
    from gen_jax.diffusion.controlnet_objective import ControlNetObjective
    from gen_jax.nn.controlnet import controlnet_for

    o = c.objective
    _, base, base_state, _ = load_objective_and_params(o.base_workdir, o.base_step or None)
    _require(tuple(base.image_shape) == tuple(image_shape), "data.name",
             f"images of the base run's shape {tuple(base.image_shape)}", tuple(image_shape))
    _require(not base.num_classes or num_classes == base.num_classes, "data.name",
             f"a dataset with the base run's {base.num_classes} classes", num_classes)
    tx, lr = optimizer(c)
    n = max(c.train.num_preview, c.train.num_final_samples)
    preview = load_dataset(c.data.name, c.data.dir or None, "test").images[:n]
    threshold = o.edge_threshold if o.condition == "edges" else None
    return ControlNetObjective(base=base, controlnet=controlnet_for(base.model, c.model.hint_channels),
                               base_params=base_state.ema_params, tx=tx, lr_schedule=lr,
                               condition=o.condition, threshold=threshold,
                               ema_decay=c.optim.ema_decay, preview_images=preview)


OBJECTIVES["controlnet"] = build_controlnet
VALIDATORS["controlnet"] = _validate_controlnet


# --- token models (VQ-VAE tokenizer, raster AR, MaskGIT) and CycleGAN: experiments/families/ ------
from experiments.families import ar as _ar, maskgit as _maskgit, vqvae as _vqvae  # noqa: E402

OBJECTIVES["vqvae"] = _vqvae.build
VALIDATORS["vqvae"] = _vqvae.validate
OBJECTIVES["ar"] = _ar.build
VALIDATORS["ar"] = _ar.validate
OBJECTIVES["maskgit"] = _maskgit.build
VALIDATORS["maskgit"] = _maskgit.validate
from experiments.families import cyclegan as _cyclegan  # noqa: E402

OBJECTIVES["cyclegan"] = _cyclegan.build
VALIDATORS["cyclegan"] = _cyclegan.validate
# --- super-resolution and video (experiments/families/sr.py, video.py) ----------------------------
from experiments.families import sr as _sr, video as _video  # noqa: E402

OBJECTIVES["sr"], VALIDATORS["sr"] = _sr.build, _sr.validate
OBJECTIVES["video"], VALIDATORS["video"] = _video.build, _video.validate
