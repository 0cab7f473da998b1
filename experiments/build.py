"""The one place where a config becomes objects: explicit registries from name to constructor.
Library code never sees a ConfigDict; this module reads it and passes plain arguments."""

from __future__ import annotations

import json
import os
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import ml_collections

from experiments.config_types import (
    BACKBONE_FIELDS, CONTROLNET_BASES, DDPMConfig, DataConfig, GeneralDiffusionConfig, OptimConfig,
    RectifiedFlowConfig, PROCESS_FIELDS, SamplerConfig, TrainConfig, check, field_names, parse,
    parse_backbone, parse_model, own_fields)
from experiments import config_types as ct
from experiments.families import ar as _ar, cyclegan as _cyclegan, maskgit as _maskgit
from experiments.families import sr as _sr, video as _video, vqvae as _vqvae
from experiments.workdir import load_run_info, save_run_info  # noqa: F401 (callers read them here)
from gen_jax.data import load_dataset
from gen_jax.diffusion.objective import DiffusionObjective
from gen_jax.diffusion.schedules import make_schedule
from gen_jax.nn.dit import DiT
from gen_jax.nn.unet import UNet
from gen_jax.samplers import SAMPLERS
from gen_jax.train.state import make_optimizer

MODELS = {"unet": UNet, "dit": DiT}


def validate(c: ml_collections.ConfigDict) -> None:
    """Check values that would otherwise fail deep inside jit, naming the field: the sections
    every run has (typed: config_types.py), then the objective's own (FAMILIES[objective.name])."""
    check(c.objective.name in FAMILIES, "objective.name", f"one of {sorted(FAMILIES)}", c.objective.name)
    parse(OptimConfig, c.optim, "optim")
    parse(TrainConfig, c.train, "train")
    parse(DataConfig, c.data, "data")
    FAMILIES[c.objective.name].validate(c)


def _sections(c: ml_collections.ConfigDict, cls, samplers, extra=None):
    """(backbone, objective, sampler) typed sections of a diffusion or flow run, the sampler's name
    one of `samplers`; extra: section -> the fields a wrapping objective (latent, SR, video) owns."""
    extra = extra or {}
    m = parse_backbone(c.model, extra.get("model", ()))
    o = parse(cls, c.objective, "objective", extra.get("objective", ()))
    s = parse(SamplerConfig, c.sampler, "sampler", extra.get("sampler", ()))
    check(s.name in samplers, "sampler.name", f"one of {list(samplers)}", s.name)
    return m, o, s


def _validate_discrete_diffusion(c: ml_collections.ConfigDict, extra=None) -> None:
    """The DDPM objective and its samplers (also used by the noise-conditional classifier)."""
    _, o, s = _sections(c, DDPMConfig, SAMPLERS, extra)
    check(s.num_steps <= o.num_timesteps, "sampler.num_steps",
          f"an int in [1, objective.num_timesteps={o.num_timesteps}]", s.num_steps)


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
    opt = parse(OptimConfig, c.optim, "optim")
    return make_optimizer(opt.learning_rate, opt.warmup_steps, opt.grad_clip or None, opt.weight_decay,
                          decay_steps=c.train.steps if opt.cosine_decay else None)


def model_classes(c: ml_collections.ConfigDict, num_classes):
    """The class count a network is built with: num_classes when config.model.class_conditional,
    else None; an error when the run is conditional on a dataset without labels."""
    if c.model.class_conditional and not num_classes:
        raise ValueError(f"config.model.class_conditional is set but dataset {c.data.name!r} has no labels")
    return num_classes if c.model.class_conditional else None


def build_ddpm(c: ml_collections.ConfigDict, image_shape, num_classes):
    conditional = c.model.class_conditional
    model = network(c, image_shape, model_classes(c, num_classes))
    tx, lr = optimizer(c)
    o = c.objective
    learned_sigma = o.get("learned_sigma", False)
    channels = image_shape[-1] * (2 if learned_sigma else 1)
    check((model.out_channels or image_shape[-1]) == channels, "model.out_channels",
          f"{channels} (image channels {image_shape[-1]}, objective.learned_sigma={learned_sigma})",
          model.out_channels)
    return DiffusionObjective(model=model, schedule=make_schedule(o.schedule, o.num_timesteps),
                              image_shape=tuple(image_shape), tx=tx, lr_schedule=lr,
                              prediction=o.prediction, learned_sigma=learned_sigma,
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
assert set(GAN_MODELS) == set(ct.GAN_GENERATORS)


def _gan_size_check(name: str):
    from gen_jax.nn.dcgan import base_size
    from gen_jax.nn.stylegan import synthesis_size

    return synthesis_size if name == "stylegan2" else base_size


def _validate_gan(c: ml_collections.ConfigDict) -> None:
    m = parse_model(ct.GANModelConfig, c.model)
    parse(ct.GANObjectiveConfig, c.objective, "objective")
    check(c.optim.d_learning_rate > 0, "optim.d_learning_rate", "a value > 0", c.optim.d_learning_rate)
    psi = parse(ct.GANSamplerConfig, c.sampler, "sampler").truncation
    check(psi == 1.0 or m.name == "stylegan2", "sampler.truncation",
          "1.0 (truncation needs model.name 'stylegan2')", psi)


def build_gan(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A generator/discriminator pair (model.name: dcgan | sngan | stylegan2) with the alternating
    GAN objective (configs/gan_common.py)."""
    from gen_jax.gan.objective import GANObjective

    m, o, opt = c.model, c.objective, c.optim
    model_classes(c, num_classes)
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


# --- rectified flow ---------------------------------------------------------------------------
def _validate_rectified_flow(c: ml_collections.ConfigDict, extra=None) -> None:
    _sections(c, RectifiedFlowConfig, SAMPLERS, extra)


def build_rectified_flow(c: ml_collections.ConfigDict, image_shape, num_classes):
    from gen_jax.flow.objective import FlowObjective

    conditional = c.model.class_conditional
    model = network(c, image_shape, model_classes(c, num_classes))
    tx, lr = optimizer(c)
    o = c.objective
    return FlowObjective(model=model, image_shape=tuple(image_shape), tx=tx, lr_schedule=lr,
                         time_sampling=o.time_sampling, logit_mean=o.logit_mean,
                         logit_scale=o.logit_scale, shift=o.shift, time_scale=o.time_scale,
                         num_classes=num_classes if conditional else None,
                         cond_drop_prob=o.cond_drop_prob if conditional else 0.0,
                         ema_decay=c.optim.ema_decay, sample_shift=c.sampler.shift)


# --- networks: config.model -> module (config_types.UNetConfig | DiTConfig) ----------------------
def _compute_dtype(m):
    """None (flax's default, float32) or bfloat16 compute; parameters stay float32 either way."""
    return None if m.get("dtype", "float32") == "float32" else getattr(jnp, m["dtype"])


def network(c: ml_collections.ConfigDict, image_shape, num_classes=None):
    """The network named by config.model.name, for images of image_shape (H, W, C)."""
    m = parse_backbone(c.model, set(c.model) - BACKBONE_FIELDS)  # validate() saw the rest
    dtype = None if m.dtype == "float32" else getattr(jnp, m.dtype)
    if m.name == "unet":  # attention runs at feature-map sizes; levels halve H from image_shape[0]
        return UNet(channels=m.channels, channel_mult=tuple(m.channel_mult), num_res_blocks=m.num_res_blocks,
                    attention_resolutions=tuple(m.attention_resolutions), num_heads=m.num_heads,
                    dropout=m.dropout, num_classes=num_classes, dtype=dtype, **m.import_options())
    h, w = image_shape[:2]
    check(h % m.patch_size == 0 and w % m.patch_size == 0, "model.patch_size",
          f"a divisor of the image size {h}x{w}", m.patch_size)
    return DiT(patch_size=m.patch_size, hidden_size=m.hidden_size, depth=m.depth, num_heads=m.num_heads,
               dropout=m.dropout, num_classes=num_classes, dtype=dtype, **m.import_options())


# --- vae ------------------------------------------------------------------------------------------
def _validate_vae(c: ml_collections.ConfigDict) -> None:
    parse_model(ct.VAEModelConfig, c.model)
    parse(ct.VAEObjectiveConfig, c.objective, "objective")
    parse(SamplerConfig, c.sampler, "sampler")  # base_config's fields (unused: one decoder call)


def build_vae(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A convolutional VAE (model.channels/channel_mult/latent_dim); labels are not used."""
    from gen_jax.nn.vae import VAE
    from gen_jax.vae.objective import VAEObjective

    del num_classes
    h, w = image_shape[:2]
    f = 2 ** len(c.model.channel_mult)
    check(h % f == 0 and w % f == 0, "model.channel_mult",
          f"at most as many levels as halvings of the image size {h}x{w} (2^levels must divide it)",
          c.model.channel_mult)
    model = VAE(tuple(image_shape), c.model.channels, tuple(c.model.channel_mult), c.model.latent_dim)
    tx, lr = optimizer(c)
    o = c.objective
    return VAEObjective(model=model, image_shape=tuple(image_shape), tx=tx, lr_schedule=lr,
                        beta=o.beta, likelihood=o.likelihood, obs_sigma=o.obs_sigma,
                        ema_decay=c.optim.ema_decay)


# --- evaluation during training (train.eval_every) ------------------------------------------------
def evaluator(c: ml_collections.ConfigDict, ds, sample, mesh=None):
    """The training loop's evaluate(params, step) from config.train.eval_*: class coverage,
    precision/recall and FID of sample(params, key, n) in the dataset's feature-network space,
    against train.eval_real random training images (features computed here, once). None when
    train.eval_every is 0, or when the dataset has no feature network (a one-line message says so)."""
    import numpy as np

    from gen_jax.metrics.feature_nets import load_feature_net, weights_path
    from gen_jax.train.evaluation import make_evaluator, real_reference

    t = parse(TrainConfig, c.train, "train")
    every = t.eval_every
    if not every:
        return None
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
    progressive = c.objective.name == "progressive_distill"
    o = parse(ct.ProgressiveDistillConfig if progressive else ct.ConsistencyDistillConfig, c.objective, "objective")
    s = parse(SamplerConfig, c.sampler, "sampler")
    parse_backbone(c.model)  # the student is the teacher's network; the section is unused
    if progressive:
        check(c.train.steps % o.rounds == 0, "train.steps",
              f"a multiple of objective.rounds = {o.rounds} (steps per round)", c.train.steps)
        check(s.name in ("", "ddim", "rf_euler"), "sampler.name",
              "'' (the student's: ddim for a ddpm teacher, rf_euler for a flow teacher), 'ddim' or 'rf_euler'", s.name)
    else:
        check(s.name in ("", "consistency"), "sampler.name", "'' or 'consistency'", s.name)


def _load_teacher(c: ml_collections.ConfigDict, image_shape):
    """(teacher objective, its EMA parameters) from objective.teacher_workdir, checked against c."""
    from experiments.sampling import load_objective_and_params

    o = c.objective
    if not os.path.exists(os.path.join(o.teacher_workdir, "run.json")):
        raise FileNotFoundError(f"config.objective.teacher_workdir: {o.teacher_workdir!r} holds no "
                                f"run.json; train the teacher first with experiments.main")
    c_t, teacher, state, _ = load_objective_and_params(o.teacher_workdir, o.teacher_checkpoint or None)
    check(c_t.objective.name in DISTILL_TEACHERS, "objective.teacher_workdir",
          f"a run of objective {DISTILL_TEACHERS}", f"{o.teacher_workdir} ({c_t.objective.name})")
    check(c_t.data.name == c.data.name and tuple(teacher.image_shape) == tuple(image_shape),
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


# --- generalized diffusion (objective.name "diffusion": any process × any prediction) -------------
def _validate_general_diffusion(c: ml_collections.ConfigDict, extra=None) -> None:
    from gen_jax.diffusion.general_objective import ALL_SAMPLERS

    _sections(c, GeneralDiffusionConfig, ALL_SAMPLERS, extra)


def _process_args(o: ml_collections.ConfigDict) -> dict:
    """The fields of config.objective that parametrise objective.process."""
    return {k: o[k] for k in PROCESS_FIELDS.get(o.process, ())}


def build_general_diffusion(c: ml_collections.ConfigDict, image_shape, num_classes):
    """A network trained on objective.process (process.py) in objective.prediction; samplers: every
    SAMPLERS name on the VP view, rf_euler | rf_heun on the rectified-flow view."""
    from gen_jax.diffusion.general_objective import GeneralDiffusionObjective
    from gen_jax.diffusion.process import make_process

    m, o = c.model, c.objective
    conditional = m.class_conditional
    model = network(c, image_shape, model_classes(c, num_classes))
    tx, lr = optimizer(c)
    return GeneralDiffusionObjective(
        model=model, process=make_process(o.process, **_process_args(o)),
        image_shape=tuple(image_shape), tx=tx, lr_schedule=lr, prediction=o.prediction,
        time_sampling=o.time_sampling, logit_mean=o.logit_mean, logit_scale=o.logit_scale,
        shift=o.shift, time_scale=o.time_scale, num_classes=num_classes if conditional else None,
        cond_drop_prob=o.cond_drop_prob if conditional else 0.0, ema_decay=c.optim.ema_decay,
        preview_sampler=c.sampler.name, preview_steps=c.sampler.num_steps)


# --- latent diffusion: the KL autoencoder, and DDPM / rectified flow on its latents ---------------
def _validate_autoencoder(c: ml_collections.ConfigDict) -> None:
    parse_model(ct.AutoencoderModelConfig, c.model)
    parse(ct.AutoencoderObjectiveConfig, c.objective, "objective")
    parse(SamplerConfig, c.sampler, "sampler")  # base_config's fields (unused)
    check(c.optim.d_learning_rate > 0, "optim.d_learning_rate", "a value > 0", c.optim.d_learning_rate)


def _autoencoder_modules(section: ml_collections.ConfigDict, image_shape):
    from gen_jax.nn.autoencoder import AutoencoderKL, PatchDiscriminator, downsample_factor

    m = parse_model(ct.AutoencoderModelConfig, section)
    h, w = image_shape[:2]
    f = downsample_factor(m.channel_mult)
    check(h % f == 0 and w % f == 0, "model.channel_mult",
          f"a level count whose downsampling 2^(levels-1) divides the image size {h}x{w}", m.channel_mult)
    return (AutoencoderKL(tuple(image_shape), m.channels, tuple(m.channel_mult), m.num_res_blocks,
                          m.latent_channels, mid_attention=m.mid_attention, quant_conv=m.quant_conv),
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


LATENT_BASES = ct.LATENT_BASES
# the fields of config.objective that latent diffusion adds to its base objective's
LATENT_FIELDS = ("base", "autoencoder_workdir", "latent_scale", "scale_batch", "sample_posterior")


def _validate_latent_diffusion(c: ml_collections.ConfigDict) -> None:
    o = own_fields(ct.LatentDiffusionConfig, c.objective, (DDPMConfig, RectifiedFlowConfig))
    check(bool(o.autoencoder_workdir) and os.path.exists(os.path.join(o.autoencoder_workdir, "run.json")),
          "objective.autoencoder_workdir", "the workdir of a trained autoencoder_kl run (with run.json)",
          o.autoencoder_workdir)
    # the section carries the fields of both bases, so objective.base picks either (ldm_cifar10.py)
    own, other = ((DDPMConfig, RectifiedFlowConfig) if o.base == "ddpm" else (RectifiedFlowConfig, DDPMConfig))
    foreign = tuple(f for f in field_names(other) if f not in field_names(own))
    FAMILIES[o.base].validate(c, {"objective": LATENT_FIELDS + foreign})


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
    ae_config, ae, ae_state, _ = load_objective_and_params(o.autoencoder_workdir)
    check(isinstance(ae, AutoencoderObjective), "objective.autoencoder_workdir",
          "the workdir of an autoencoder_kl run", f"{o.autoencoder_workdir} ({type(ae).__name__})")
    check(tuple(ae.image_shape) == tuple(image_shape), "objective.autoencoder_workdir",
          f"an autoencoder of images {tuple(image_shape)} (config.data.name={c.data.name!r})",
          f"{o.autoencoder_workdir} (images {tuple(ae.image_shape)})")
    params = ae_state.ema_params
    # this run's scale, else the autoencoder run's own (an imported scaling_factor), else estimated
    scale = (o.latent_scale or ae_config.objective.get("latent_scale", 0.0)
             or latent_scale_of(o.autoencoder_workdir, ae, params, int(jax.device_get(ae_state.step)), c))
    inner = FAMILIES[o.base].build(c, ae.latent_shape, num_classes)
    return LatentDiffusionObjective(inner=inner, autoencoder=ae, ae_params=params, scale=scale,
                                    sample_posterior=o.sample_posterior)


# --- text-to-image --------------------------------------------------------------------------------
# objective name -> the objective it conditions on captions (its fields, builder and validator)
TEXT_OBJECTIVES = {"text_ddpm": "ddpm", "text_rf": "rectified_flow"}


def _validate_text(c: ml_collections.ConfigDict) -> None:
    FAMILIES[TEXT_OBJECTIVES[c.objective.name]].validate(c)
    t = c.get("text")
    check(t is not None, "text", "a section (experiments/configs/text_cifar10.py: text_section)", t)
    check(not c.model.class_conditional, "model.class_conditional",
          "False for a text-to-image run (the caption is the condition)", c.model.class_conditional)
    parse(ct.TextConfig, t, "text")


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
    base = FAMILIES[TEXT_OBJECTIVES[c.objective.name]].build(c, image_shape, None)
    encoder = TextEncoder(tok.vocab_size, tok.max_len, t.width, t.depth, t.num_heads)
    model = TextConditioned(base.model.clone(cross_attention=True), encoder)
    cls = TextDiffusionObjective if c.objective.name == "text_ddpm" else TextFlowObjective
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    fields.update(model=model, num_classes=None, cond_drop_prob=c.objective.cond_drop_prob,
                  tokenizer=tok, preview_prompts=tuple(t.preview_prompts))
    return cls(**fields)


# --- controlnet -----------------------------------------------------------------------------------
def _validate_controlnet(c: ml_collections.ConfigDict) -> None:
    o = own_fields(ct.ControlNetConfig, c.objective, (RectifiedFlowConfig,))
    own_fields(ct.ControlNetModelConfig, c.model, (ct.UNetConfig, ct.DiTConfig))
    try:
        bc, _, _, _ = load_run_info(o.base_workdir)
    except FileNotFoundError as e:
        raise ValueError(f"config.objective.base_workdir: {e}") from None
    check(bc.objective.name in CONTROLNET_BASES, "objective.base_workdir",
          f"a run with objective.name in {CONTROLNET_BASES}", bc.objective.name)
    check(bc.model.name == "unet", "objective.base_workdir", "a run with model.name 'unet'", bc.model.name)
    check(c.sampler.name in SAMPLERS, "sampler.name", f"one of {list(SAMPLERS)}", c.sampler.name)
    if bc.objective.name != "rectified_flow":
        T = bc.objective.num_timesteps
        check(1 <= c.sampler.num_steps <= T, "sampler.num_steps", f"an int in [1, {T}]", c.sampler.num_steps)


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
    check(tuple(base.image_shape) == tuple(image_shape), "data.name",
          f"images of the base run's shape {tuple(base.image_shape)}", tuple(image_shape))
    check(not base.num_classes or num_classes == base.num_classes, "data.name",
          f"a dataset with the base run's {base.num_classes} classes", num_classes)
    tx, lr = optimizer(c)
    n = max(c.train.num_preview, c.train.num_final_samples)
    preview = load_dataset(c.data.name, c.data.dir or None, "test").images[:n]
    threshold = o.edge_threshold if o.condition == "edges" else None
    return ControlNetObjective(base=base, controlnet=controlnet_for(base.model, c.model.hint_channels),
                               base_params=base_state.ema_params, tx=tx, lr_schedule=lr,
                               condition=o.condition, threshold=threshold,
                               ema_decay=c.optim.ema_decay, preview_images=preview)


# --- the registry: objective name -> (builder, validator) -----------------------------------------
class Family(NamedTuple):
    build: Callable    # (config, image_shape, num_classes) -> objective
    validate: Callable  # (config) -> None, raising ValueError naming the field
    previews: Optional[Callable] = None  # (config, objective) -> objective with its preview inputs


def with_previews(c: ml_collections.ConfigDict, objective):
    """objective with the preview inputs its family draws from data (SR: low-res test images); a
    training run adds them, builders load no data."""
    previews = FAMILIES[c.objective.name].previews
    return previews(c, objective) if previews else objective


FAMILIES = {
    "ddpm": Family(build_ddpm, _validate_discrete_diffusion),
    "noisy_classifier": Family(build_noisy_classifier, _validate_discrete_diffusion),
    "rectified_flow": Family(build_rectified_flow, _validate_rectified_flow),
    "diffusion": Family(build_general_diffusion, _validate_general_diffusion),
    "gan": Family(build_gan, _validate_gan),
    "vae": Family(build_vae, _validate_vae),
    "progressive_distill": Family(build_distill, _validate_distill),
    "consistency_distill": Family(build_distill, _validate_distill),
    "autoencoder_kl": Family(build_autoencoder, _validate_autoencoder),
    "latent_diffusion": Family(build_latent_diffusion, _validate_latent_diffusion),
    "text_ddpm": Family(build_text, _validate_text),
    "text_rf": Family(build_text, _validate_text),
    "controlnet": Family(build_controlnet, _validate_controlnet),
    "vqvae": Family(_vqvae.build, _vqvae.validate),
    "ar": Family(_ar.build, _ar.validate),
    "maskgit": Family(_maskgit.build, _maskgit.validate),
    "cyclegan": Family(_cyclegan.build, _cyclegan.validate),
    "sr": Family(_sr.build, _sr.validate, _sr.with_previews),
    "video": Family(_video.build, _video.validate),
}
OBJECTIVES = {name: f.build for name, f in FAMILIES.items()}  # name -> builder (ldm_cost, bench_ldm)


def objective(c: ml_collections.ConfigDict, image_shape, num_classes):
    """The objective of config.objective.name, validated first."""
    validate(c)
    return FAMILIES[c.objective.name].build(c, image_shape, num_classes)
