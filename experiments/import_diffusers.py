"""Import a diffusers checkpoint folder as a gen_jax workdir (run.json + an orbax checkpoint), which
experiments.sample, experiments.bench_samplers, experiments.likelihood and the notebooks then use
like a trained run. Nothing is downloaded: fetch the folder first (docs/pretrained.md).

python -m experiments.import_diffusers --src=ddpm-cifar10-32 --workdir=runs/ddpm_cifar10_32
python -m experiments.sample --workdir=runs/ddpm_cifar10_32 --sampler=ddim --steps=50 --spacing=leading
python -m experiments.import_diffusers --src=DiT-XL-2-256 --workdir=runs/dit_xl_2_256
python -m experiments.sample --workdir=runs/dit_xl_2_256 --steps=50 --guidance=4 --class=207
python -m experiments.import_diffusers --src=sd-vae-ft-ema --workdir=runs/sd_vae_ft_ema

--src: a pipeline folder (model_index.json; unet/ or transformer/, scheduler/, vae/) or one model
folder (config.json + diffusion_pytorch_model.safetensors). By the model's class:
- UNet2DModel: a DDPM run.
- DiTTransformer2DModel (Transformer2DModel in the DiT uploads): a class-conditional DDPM run of
  the DiT, its learned-variance channels carried and unused (objective.learned_sigma). With an
  autoencoder (the pipeline's vae/, --vae or --autoencoder_workdir) a latent_diffusion run whose
  autoencoder run is imported into WORKDIR/autoencoder (or --autoencoder_workdir).
- AutoencoderKL: an autoencoder_kl run, usable as objective.autoencoder_workdir of latent
  diffusion (configs/ldm_cifar10.py); objective.latent_scale is config.json's scaling_factor.
The scheduler is the pipeline's scheduler/ (or --scheduler), else DDPM's linear schedule with ε
prediction. Parameters are checkpointed as both params and EMA params, with Adam moments of zero.
"""

from __future__ import annotations

import functools
import json
import os
from typing import NamedTuple

import jax
import numpy as np
from absl import app, flags, logging

from experiments import build
from experiments.config_types import DIT_IMPORT_OPTIONS, UNET_IMPORT_OPTIONS
from experiments.configs import common
from experiments.configs.autoencoder_cifar10 import autoencoder_config
from experiments.configs.ldm_cifar10 import latent_diffusion
from experiments.workdir import load_run_info, save_run_info
from gen_jax.interop import autoencoder as ae_interop
from gen_jax.interop import class_name_of, load_diffusers
from gen_jax.interop import dit as dit_interop
from gen_jax.interop.folder import InteropError, read_config
from gen_jax.interop.scheduler import read_scheduler, scheduler_from_config
from gen_jax.nn.autoencoder import downsample_factor
from gen_jax.train import checkpoint
from gen_jax.train.state import TrainState

MODEL_SUBFOLDERS = ("unet", "transformer")  # where a pipeline keeps its denoiser
AUTOENCODER_RUN = "autoencoder"  # WORKDIR/autoencoder: the autoencoder run of a latent DiT import
# latent-scale fields of diffusers' AutoencoderKL that gen_jax's latent diffusion cannot express
UNSUPPORTED_LATENT_FIELDS = ("shift_factor", "latents_mean", "latents_std")


class Source(NamedTuple):
    model: str                  # the model folder (config.json + safetensors)
    scheduler: str | None       # a scheduler_config.json
    vae: str | None             # an AutoencoderKL folder (a pipeline's vae/)
    class_names: list | None    # model_index.json's id2label, by class index


def read_source(src: str, scheduler: str | None = None, vae: str | None = None) -> Source:
    """The parts of src, a pipeline folder or a model folder; scheduler and vae override the
    pipeline's own."""
    index = os.path.join(src, "model_index.json")
    if not os.path.exists(index):
        return Source(src, scheduler, vae, None)
    with open(index) as f:
        pipeline = json.load(f)
    model = next((os.path.join(src, s) for s in MODEL_SUBFOLDERS
                  if os.path.exists(os.path.join(src, s, "config.json"))), None)
    if model is None:
        raise InteropError(f"{src}: a pipeline folder without any of the model subfolders {MODEL_SUBFOLDERS}")
    own_scheduler = os.path.join(src, "scheduler", "scheduler_config.json")
    own_vae = os.path.join(src, "vae")
    id2label = pipeline.get("id2label") or {}
    names = [v for _, v in sorted(id2label.items(), key=lambda kv: int(kv[0]))] or None
    return Source(model, scheduler or (own_scheduler if os.path.exists(own_scheduler) else None),
                  vae or (own_vae if os.path.exists(os.path.join(own_vae, "config.json")) else None), names)


def _data_name(data_name: str | None, image_shape) -> str:
    return data_name or ("cifar10" if tuple(image_shape) == (32, 32, 3) else "none")


def _set_schedule(c, spec) -> None:
    """objective.schedule/num_timesteps/prediction and the sampler (DDIM, the scheduler's spacing)."""
    if spec.gen_jax_schedule is None:
        raise InteropError("scheduler config: its betas match neither of gen_jax's objective.schedule "
                           "tables (linear 1e-4..0.02 over 1000 steps, cosine); a workdir cannot name them")
    o = c.objective
    o.schedule, o.num_timesteps, o.prediction = spec.gen_jax_schedule, spec.schedule.num_timesteps, spec.prediction
    c.sampler.name, c.sampler.num_steps, c.sampler.spacing = "ddim", 50, spec.spacing
    c.train.steps = 1


def run_config(model, image_shape, spec, data_name: str):
    """The gen_jax config (a DDPM run) whose objective rebuilds exactly this U-Net and schedule."""
    if (model.out_channels or image_shape[-1]) != image_shape[-1]:
        raise InteropError(f"config.json out_channels={model.out_channels}: the DDPM objective needs "
                           f"out_channels = in_channels = {image_shape[-1]}")
    c = common.base_config()
    c.data.name = data_name
    m = c.model
    m.name, m.channels, m.channel_mult = "unet", model.channels, tuple(model.channel_mult)
    m.num_res_blocks, m.attention_resolutions = model.num_res_blocks, tuple(model.attention_resolutions)
    m.num_heads, m.dropout, m.class_conditional = model.num_heads, model.dropout, False
    for k in UNET_IMPORT_OPTIONS:
        m[k] = getattr(model, k)
    _set_schedule(c, spec)
    return c


def dit_run_config(model, spec, learned_sigma: bool, data_name: str, autoencoder_workdir: str | None = None,
                   latent_scale: float = 0.0):
    """A class-conditional DDPM run of this DiT, or with autoencoder_workdir a latent_diffusion run
    (base ddpm) on that autoencoder's latents scaled by latent_scale."""
    c = common.base_config() if autoencoder_workdir is None else latent_diffusion(common.base_config())
    c.data.name = data_name
    m = c.model
    m.name, m.patch_size, m.depth, m.hidden_size = "dit", model.patch_size, model.depth, model.hidden_size
    m.num_heads, m.dropout, m.class_conditional = model.num_heads, model.dropout, True
    for k in DIT_IMPORT_OPTIONS:
        m[k] = getattr(model, k)
    _set_schedule(c, spec)
    c.objective.learned_sigma = learned_sigma
    if autoencoder_workdir is not None:
        c.objective.autoencoder_workdir = autoencoder_workdir
        c.objective.latent_scale = float(latent_scale)
    return c


def autoencoder_run_config(model, latent_scale: float, data_name: str):
    """An autoencoder_kl run whose model rebuilds this AutoencoderKL; objective.latent_scale is the
    scale latent diffusion puts on its latents. The discriminator keeps the config's default size."""
    c = autoencoder_config(common.base_config())
    c.data.name = data_name
    m = c.model
    m.channels, m.channel_mult, m.num_res_blocks = model.channels, tuple(model.channel_mult), model.num_res_blocks
    m.latent_channels, m.mid_attention, m.quant_conv = model.latent_channels, model.mid_attention, model.quant_conv
    c.objective.latent_scale = float(latent_scale)
    c.train.steps = 1
    return c


def _check_rebuilds(built, imported) -> None:
    if built != imported:  # the config must rebuild the imported network exactly
        raise AssertionError(f"run config rebuilds {built}, not the imported {imported}")


def _zeros(abstract):
    """Zero arrays shaped like abstract's leaves, as broadcast views: no memory until written."""
    return jax.tree.map(lambda s: np.broadcast_to(np.zeros((), s.dtype), s.shape), abstract)


def write_workdir(workdir: str, c, image_shape, num_classes, objective, ema_params, params=None,
                  class_names=None) -> None:
    """run.json and checkpoints/0: a TrainState of ema_params (numpy), params (default: the same
    arrays) and a zero optimiser state, checked against objective.init's structure. Host memory:
    the parameters plus the array being written."""
    params = ema_params if params is None else params
    abstract = jax.eval_shape(objective.init, jax.random.PRNGKey(c.seed))
    state = TrainState(step=np.zeros((), np.int32), params=params, ema_params=ema_params,
                       opt_state=_zeros(abstract.opt_state), rng=np.asarray(jax.random.PRNGKey(c.seed)))
    leaves, tree = jax.tree_util.tree_flatten_with_path(state)
    want, want_tree = jax.tree_util.tree_flatten(abstract)
    if tree != want_tree:
        raise AssertionError(f"imported state {tree} is not the objective's {want_tree}")
    for (path, x), s in zip(leaves, want):
        if (x.shape, x.dtype) != (s.shape, s.dtype):
            raise AssertionError(f"{jax.tree_util.keystr(path)}: {x.dtype}{x.shape}, the objective has "
                                 f"{s.dtype}{s.shape}")
    save_run_info(workdir, c, image_shape, num_classes, class_names)
    checkpoint.save_host(os.path.join(workdir, "checkpoints"), state)


def _scheduler(source: Source):
    return read_scheduler(source.scheduler) if source.scheduler else scheduler_from_config({})


# --- one importer per model class ------------------------------------------------------------------
def import_unet(source: Source, workdir: str, data_name: str | None = None, **_):
    spec = _scheduler(source)
    model, params, info = load_diffusers(source.model)
    image_shape = info["image_shape"]
    c = run_config(model, image_shape, spec, _data_name(data_name, image_shape))
    if spec.variance != "posterior":
        print(f"note: the scheduler's variance_type is {spec.variance!r}-like (σ² = β); gen_jax's ddpm "
              f"sampler uses the posterior variance β̃ (ddpm_sample(variance='beta') gives the other)")
    objective = build.objective(c, image_shape, None)
    _check_rebuilds(objective.model, model)
    write_workdir(workdir, c, image_shape, None, objective, params)
    return c


def _check_latent_fields(config: dict, folder: str) -> None:
    for field in UNSUPPORTED_LATENT_FIELDS:
        if config.get(field) is not None:
            raise InteropError(f"{os.path.join(folder, 'config.json')} field {field!r} = {config[field]!r}: "
                               f"gen_jax's latent diffusion multiplies latents by one factor "
                               f"(scaling_factor) without a shift; a workdir cannot express it")


def import_autoencoder(source: Source, workdir: str, data_name: str | None = None, image_shape=None, **_):
    """An autoencoder_kl run; image_shape: the run's images (default: config.json's sample_size)."""
    config = read_config(source.model)
    _check_latent_fields(config, source.model)
    model, params, info = load_diffusers(source.model)
    image_shape = tuple(image_shape or info["image_shape"])
    model = model.clone(image_shape=image_shape)  # convolutional: the weights fit any size
    scale = {**ae_interop.DEFAULTS, **config}["scaling_factor"]
    c = autoencoder_run_config(model, scale, _data_name(data_name, image_shape))
    objective = build.objective(c, image_shape, None)
    _check_rebuilds(objective.model, model)
    # diffusers folders hold no discriminator: a freshly initialised one (used only by training)
    d = jax.jit(objective.discriminator.init)(jax.random.PRNGKey(c.seed), np.zeros((1, *image_shape), np.float32))
    d = jax.tree.map(np.asarray, d["params"])
    write_workdir(workdir, c, image_shape, None, objective, params, params={"ae": params, "d": d})
    return c


def _dit_autoencoder(source: Source, workdir: str, latent_shape, autoencoder_workdir: str | None):
    """(autoencoder run, its image shape, latent scale, write) for a DiT on latent_shape, checked
    before anything is written: an existing autoencoder_kl run (write None), or source.vae to be
    imported by write() into autoencoder_workdir (default WORKDIR/autoencoder) at the image size
    whose latents are latent_shape. (None, None, 0, None) when there is no autoencoder."""
    h, w, c = latent_shape
    if autoencoder_workdir and os.path.exists(os.path.join(autoencoder_workdir, "run.json")):
        ae_c, ae_shape, _, _ = load_run_info(autoencoder_workdir)
        if ae_c.objective.name != "autoencoder_kl":
            raise InteropError(f"--autoencoder_workdir={autoencoder_workdir}: expected an autoencoder_kl "
                               f"run, found objective {ae_c.objective.name!r}")
        f = downsample_factor(ae_c.model.channel_mult)
        got = (ae_shape[0] // f, ae_shape[1] // f, ae_c.model.latent_channels)
        if got != tuple(latent_shape):
            raise InteropError(f"--autoencoder_workdir={autoencoder_workdir}: its latents are {got}, the "
                               f"DiT's {tuple(latent_shape)}; import the pipeline's vae/ with --vae "
                               f"(and a new --autoencoder_workdir) to make one of the DiT's size")
        if not ae_c.objective.get("latent_scale", 0.0):
            raise InteropError(f"--autoencoder_workdir={autoencoder_workdir}: objective.latent_scale is 0 "
                               f"(a trained run); the DiT needs the scale of its own autoencoder")
        return os.path.abspath(autoencoder_workdir), tuple(ae_shape), ae_c.objective.latent_scale, None
    if source.vae is None:
        return None, None, 0.0, None
    config = read_config(source.vae)
    _check_latent_fields(config, source.vae)
    ae_model, _ = ae_interop.autoencoder_from_config(config)
    if ae_model.latent_channels != c:
        raise InteropError(f"{source.vae}/config.json latent_channels={ae_model.latent_channels}: the DiT "
                           f"of {source.model} takes {c}-channel latents")
    f = downsample_factor(ae_model.channel_mult)
    image_shape = (h * f, w * f, ae_model.image_shape[-1])
    ae_dir = os.path.abspath(autoencoder_workdir or os.path.join(workdir, AUTOENCODER_RUN))
    write = functools.partial(import_autoencoder, Source(source.vae, None, None, None), ae_dir,
                              image_shape=image_shape)
    return ae_dir, image_shape, {**ae_interop.DEFAULTS, **config}["scaling_factor"], write


def import_dit(source: Source, workdir: str, data_name: str | None = None,
               autoencoder_workdir: str | None = None, **_):
    spec = _scheduler(source)
    model, latent_shape = dit_interop.dit_from_config(read_config(source.model))  # no weights yet
    channels = latent_shape[-1]
    if model.out_channels not in (channels, 2 * channels):
        raise InteropError(f"{source.model}/config.json out_channels={model.out_channels}: expected "
                           f"{channels} (the prediction) or {2 * channels} (it and a learned variance)")
    learned_sigma = model.out_channels == 2 * channels
    if spec.learned_sigma and not learned_sigma:
        raise InteropError(f"scheduler config variance_type is learned, but {source.model}/config.json "
                           f"out_channels={model.out_channels} has no variance channels")
    ae_dir, image_shape, scale, write_autoencoder = _dit_autoencoder(source, workdir, latent_shape,
                                                                     autoencoder_workdir)
    if ae_dir is None and channels not in (1, 3):
        raise InteropError(f"{source.model}: a DiT on {channels}-channel latents needs its autoencoder to "
                           f"make images: give the pipeline folder as --src, or --vae=PIPELINE/vae (an "
                           f"AutoencoderKL folder), or --autoencoder_workdir=W (an imported one)")
    num_classes = model.num_classes
    c = dit_run_config(model, spec, learned_sigma, data_name or "none", ae_dir, scale)
    # the DDPM run (on latents: latent diffusion's base, without loading the autoencoder run)
    objective = build.FAMILIES["ddpm"].build(c, latent_shape, num_classes)
    _check_rebuilds(objective.model, model)
    _, params, _ = load_diffusers(source.model)  # every tensor is checked before anything is written
    if write_autoencoder is not None:
        write_autoencoder()
    build.validate(c)  # latent diffusion: the autoencoder run exists now
    names = source.class_names if source.class_names and len(source.class_names) == num_classes else None
    write_workdir(workdir, c, image_shape or latent_shape, num_classes, objective, params, class_names=names)
    if learned_sigma:
        print(f"note: channels {channels}..{2 * channels - 1} of the DiT's output are its learned variance; "
              f"gen_jax's samplers use the ε channels only, as diffusers' DiTPipeline")
    return c


IMPORTERS = {"UNet2DModel": import_unet, dit_interop.CLASS_NAME: import_dit,
             ae_interop.CLASS_NAME: import_autoencoder}


def import_folder(src: str, workdir: str, scheduler: str | None = None, data_name: str | None = None,
                  vae: str | None = None, autoencoder_workdir: str | None = None):
    """Write workdir/run.json and workdir/checkpoints/0 from the diffusers folder src (module
    docstring); returns the run's config. scheduler/vae: a scheduler_config.json / AutoencoderKL
    folder replacing the pipeline's; autoencoder_workdir: where a DiT's autoencoder run is written,
    or an existing one to use."""
    source = read_source(src, scheduler, vae)
    class_name = class_name_of(read_config(source.model))
    if class_name not in IMPORTERS:
        raise InteropError(f"{os.path.join(source.model, 'config.json')}: model class {class_name!r} cannot "
                           f"be imported as a workdir; supported: {sorted(IMPORTERS)}")
    return IMPORTERS[class_name](source, workdir, data_name=data_name, autoencoder_workdir=autoencoder_workdir)


def define_flags():
    """Flags, defined only when run as a script (tests import this module beside others)."""
    flags.DEFINE_string("src", None, "diffusers pipeline folder or model folder (config.json + "
                        "diffusion_pytorch_model.safetensors).")
    flags.DEFINE_string("workdir", None, "Workdir to create (run.json + checkpoints/).")
    flags.DEFINE_string("scheduler", None, "scheduler_config.json (default: SRC/scheduler/).")
    flags.DEFINE_string("vae", None, "AutoencoderKL folder of a latent DiT (default: SRC/vae/).")
    flags.DEFINE_string("autoencoder_workdir", None, "A latent DiT's autoencoder run: an existing one "
                        "(from an AutoencoderKL import), or where to write it (default: WORKDIR/autoencoder).")
    flags.DEFINE_string("data_name", None, "config.data.name of the run (the FID reference of "
                        "bench/eval tools; default: cifar10 for 32x32 RGB, else 'none').")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    F = flags.FLAGS
    c = import_folder(F.src, F.workdir, F.scheduler, F.data_name, F.vae, F.autoencoder_workdir)
    o = c.objective
    if o.name == "autoencoder_kl":
        print(f"wrote {F.workdir} (objective autoencoder_kl, latent_scale {o.latent_scale})")
        return
    latent = o.name == "latent_diffusion"
    extra = f", autoencoder {o.autoencoder_workdir}, latent_scale {o.latent_scale}" if latent else ""
    print(f"wrote {F.workdir} (objective {o.name}, model {c.model.name}, schedule {o.schedule}, "
          f"prediction {o.prediction}, spacing {c.sampler.spacing}{extra})")


if __name__ == "__main__":
    define_flags()
    flags.mark_flags_as_required(["src", "workdir"])
    app.run(main)
