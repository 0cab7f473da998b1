"""DiT DDPM on MNIST (28x28, patch 4 -> 7x7 tokens), class-conditional with label dropout for CFG.

python -m experiments.main --config=experiments/configs/dit_mnist.py --workdir=runs/dit_mnist \
    --config.data.dir=../shared/data
"""

from experiments.configs import common


def dit_smoke(c):
    """common.smoke, then a two-block DiT of width 32."""
    common.smoke(c)
    c.model.depth = 2
    c.model.hidden_size = 32
    c.model.num_heads = 2
    return c


def get_config(variant: str = ""):
    c = common.guided(common.base_config())
    c.data.name = "mnist"
    common.update(c, model=dict(name="dit", patch_size=4, depth=6, hidden_size=192, num_heads=6),
                  optim=dict(learning_rate=3e-4, warmup_steps=200),
                  train=dict(steps=6000, batch_size=64, ckpt_every=500, sample_every=1000))
    return common.with_variant(c, variant, "dit_mnist.py", smoke=dit_smoke)
