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
    c.objective.update(process="ddpm_cosine", prediction="eps", cond_drop_prob=0.1)
    c.objective.task_probs = (0.5, 0.25, 0.25)  # training P(generate, predict, interpolate)
    c.objective.image_workdir = ""      # an image U-Net run on single frames to start the spatial layers from
    c.model.temporal_heads = 4          # heads of the temporal attention layers
    common.update(c, model=dict(class_conditional=True, channels=32, channel_mult=(1, 2, 2), num_res_blocks=1,
                                attention_resolutions=(8,)),
                  sampler=dict(name="ddim", num_steps=50), optim=dict(learning_rate=1e-3),
                  # num_preview: frames (num_preview // T clips); no samples.png: experiments.sample
                  # writes the clips as a GIF grid
                  train=dict(steps=2000, batch_size=16, sample_every=500, num_preview=32, num_final_samples=0))
    standard = common.preset(data=dict(name="moving_mnist"), model=dict(attention_resolutions=(16,)))
    smoke = common.preset(common.smoke, data=dict(name="moving_digits"),
                          model=dict(channel_mult=(1, 2), attention_resolutions=(), temporal_heads=1),
                          train=dict(batch_size=4, num_final_samples=0))
    return common.with_variant(c, variant, "video_mnist.py", standard=standard, smoke=smoke)
