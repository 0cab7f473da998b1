"""Shared config sections. Each experiment config composes these and overrides a few fields."""

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0                          # seeds init, data order and training noise

    c.data = ml_collections.ConfigDict()
    c.data.name = "digits"              # digits | mnist | fashion_mnist | cifar10 | emoji | tfds:NAME | folder:PATH
    c.data.dir = ""                     # data directory ("" -> $GEN_JAX_DATA_DIR, else embedded only)
    c.data.split = "train"              # split to train on
    # folder:PATH only (a directory written by experiments.prepare_data, streamed by grain):
    c.data.flip = False                 # random horizontal flip, keyed by (seed, step, example)
    c.data.crop = 0                     # random crop to crop x crop (0: none)
    c.data.workers = 0                  # grain worker processes (0: read in the training process)
    c.data.threads = 2                  # grain reader threads per process
    c.data.prefetch = 4                 # batches read ahead per process

    c.model = ml_collections.ConfigDict()
    c.model.name = "unet"               # network registry key (experiments/build.py)
    c.model.channels = 32               # base channel count
    c.model.channel_mult = (1, 2)       # channel multiplier per resolution level
    c.model.num_res_blocks = 1          # residual blocks per level
    c.model.attention_resolutions = (4,)  # feature-map sizes (H) with self-attention
    c.model.num_heads = 4               # attention heads
    c.model.dropout = 0.0               # dropout inside residual blocks
    c.model.class_conditional = False   # add a class embedding (with a null class for CFG)
    c.model.dtype = "float32"           # compute dtype of U-Net/DiT: float32 | bfloat16 (params stay float32)
    # DiT only (model.name = "dit"; also uses num_heads, dropout):
    c.model.patch_size = 2              # p: p x p patches become tokens (must divide H and W)
    c.model.depth = 4                   # transformer blocks
    c.model.hidden_size = 128           # token width (multiple of 4 and of num_heads)

    c.objective = ml_collections.ConfigDict()
    c.objective.name = "ddpm"           # objective registry key
    c.objective.schedule = "linear"     # beta schedule: linear | cosine
    c.objective.num_timesteps = 1000    # T
    c.objective.prediction = "eps"      # network target: eps | x0 | v
    c.objective.cond_drop_prob = 0.0    # P(label dropped) for classifier-free guidance

    c.sampler = ml_collections.ConfigDict()
    c.sampler.name = "ddim"             # sampler for the final grid: ddim | ddpm
    c.sampler.num_steps = 50            # network calls for the final grid
    c.sampler.eta = 0.0                 # DDIM eta (0: deterministic)
    c.sampler.spacing = "trailing"      # timestep spacing: leading | linspace | trailing

    c.optim = ml_collections.ConfigDict()
    c.optim.learning_rate = 2e-4        # peak learning rate (AdamW)
    c.optim.warmup_steps = 200          # linear warm-up steps
    c.optim.grad_clip = 1.0             # global-norm clip (0 disables)
    c.optim.weight_decay = 0.0          # AdamW weight decay
    c.optim.ema_decay = 0.999           # EMA of parameters used for sampling
    c.optim.cosine_decay = False        # cosine-decay the learning rate to 0 at train.steps

    c.train = ml_collections.ConfigDict()
    c.train.steps = 3000                # total optimiser steps
    c.train.batch_size = 64             # global batch (split over all devices)
    c.train.fsdp = 1                    # devices sharing one sharded copy of params/optimiser (1: replicate)
    c.train.log_every = 50              # steps between logged scalars
    c.train.ckpt_every = 500            # steps between checkpoints
    c.train.keep_checkpoints = 3        # checkpoints kept (>= 1)
    c.train.steps_per_call = 1          # train steps per device dispatch (a lax.scan); same result
    c.train.loss_blowup_factor = 1000.0  # stop when a logged loss > this x running median |loss| (0: off)
    c.train.sample_every = 1000         # steps between preview grids (0: never)
    c.train.num_preview = 64            # images per preview grid
    c.train.num_final_samples = 100     # images in the final grid (samples.png); 0: none
    c.train.eval_every = 0              # steps between sample-quality evaluations (0: never)
    c.train.eval_samples = 1000         # samples per evaluation (class coverage, precision/recall, FID)
    c.train.eval_real = 10000           # training images in the real reference (feature statistics)
    return c


def smoke(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Shrink any config to a seconds-long run (tests train every config's smoke variant)."""
    c.model.channels = 8
    c.model.num_res_blocks = 1
    c.model.num_heads = 1
    c.objective.num_timesteps = 20
    c.sampler.num_steps = 3
    c.optim.warmup_steps = 1
    c.train.steps = 2
    c.train.batch_size = 8
    c.train.log_every = 1
    c.train.ckpt_every = 2              # one checkpoint (each save costs a test ~1 s)
    c.train.sample_every = 0            # no preview grid: its sampler would be one more compilation
    c.train.num_preview = 4
    c.train.num_final_samples = 4
    c.train.eval_samples = 16
    c.train.eval_real = 64
    return c


def update(c: ml_collections.ConfigDict, **sections) -> ml_collections.ConfigDict:
    """Set fields section by section: update(c, train=dict(steps=4000, batch_size=64))."""
    for name, fields in sections.items():
        c[name].update(fields)
    return c


def preset(*steps, **sections):
    """A config transform: the functions in `steps` in order (each c -> c), then update(c, **sections)."""
    def apply(c):
        for step in steps:
            c = step(c)
        return update(c, **sections)
    return apply


def with_variant(c: ml_collections.ConfigDict, variant: str, file: str, **variants) -> ml_collections.ConfigDict:
    """c with variants[variant] applied ('' : c itself; "smoke" defaults to smoke above), or a
    ValueError naming the variant, the file and the accepted names."""
    variants = {"smoke": smoke, **variants}
    if variant and variant not in variants:
        raise ValueError(f"unknown variant {variant!r} of {file}; expected one of "
                         f"{', '.join(repr(v) for v in ['', *variants])}")
    return variants[variant](c) if variant else c


def guided(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Class-conditional with label dropout (P = 0.1) for classifier-free guidance."""
    c.model.class_conditional = True
    c.objective.cond_drop_prob = 0.1
    return c


def digits_run(c: ml_collections.ConfigDict, learning_rate: float = 1e-3, steps: int = 2500):
    """The embedded 8x8 digits (no data directory): a few thousand steps, a preview every 500."""
    c.data.name = "digits"
    c.optim.learning_rate = learning_rate
    return update(c, train=dict(steps=steps, batch_size=64, sample_every=500))


def mnist_unet(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The class-conditional MNIST U-Net run that ddpm_mnist, rf_mnist and edm_mnist share."""
    c.data.name = "mnist"
    update(c, model=dict(channels=16, channel_mult=(1, 2, 4), num_res_blocks=1, attention_resolutions=(7,)),
           optim=dict(learning_rate=1e-3, warmup_steps=200),
           train=dict(steps=4000, batch_size=64, ckpt_every=250, sample_every=1000))
    return guided(c)
