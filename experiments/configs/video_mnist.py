"""Video diffusion on Moving MNIST: a factorised space-time U-Net, class-conditional (CFG),
trained on clip generation, next-frame prediction and interpolation at once (masked frames).

python -m experiments.main --config=experiments/configs/video_mnist.py --workdir=runs/video \
    --config.data.dir=../shared/data
Variants: "" (moving_mnist_small: one digit, 8 frames at 32x32, the CPU-sized set), "standard"
(moving_mnist: two digits, 16 frames at 64x64), "smoke" (moving_digits, embedded, two steps).
"""

from experiments.configs import common
from experiments.configs.diffusion_default import general_diffusion


def get_config(variant: str = ""):
    c = general_diffusion(common.base_config())
    c.objective.name = "video"
    c.data.name = "moving_mnist_small"
    c.objective.process = "ddpm_cosine"
    c.objective.prediction = "eps"
    c.objective.cond_drop_prob = 0.1
    c.objective.task_probs = (0.5, 0.25, 0.25)  # training P(generate, predict, interpolate)
    c.objective.image_workdir = ""      # an image U-Net run on single frames to start the spatial layers from
    c.model.class_conditional = True
    c.model.channels = 32
    c.model.channel_mult = (1, 2, 2)
    c.model.num_res_blocks = 1
    c.model.attention_resolutions = (8,)
    c.model.temporal_heads = 4          # heads of the temporal attention layers
    c.sampler.name = "ddim"
    c.sampler.num_steps = 50
    c.optim.learning_rate = 1e-3
    c.train.steps = 2000
    c.train.batch_size = 16
    c.train.sample_every = 500
    c.train.num_preview = 32            # frames: num_preview // T clips
    c.train.num_final_samples = 0       # clips: experiments.sample writes them as a GIF grid
    if variant == "standard":
        c.data.name = "moving_mnist"
        c.model.attention_resolutions = (16,)
    elif variant == "smoke":
        common.smoke(c)
        c.data.name = "moving_digits"
        c.model.channel_mult = (1, 2)
        c.model.attention_resolutions = ()
        c.model.temporal_heads = 1
        c.train.batch_size = 4
        c.train.num_final_samples = 0
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of video_mnist.py; expected '', 'standard' "
                         f"or 'smoke'")
    return c
