"""The VQ-VAE tokenizer on MNIST: 28x28 -> a 7x7 grid of codes from a 64-code codebook (EMA
updates, dead-code restarts). The token models (ar_mnist.py, maskgit_mnist.py) train on its grid.

python -m experiments.main --config=experiments/configs/vqvae_mnist.py --workdir=runs/vqvae_mnist \
    --config.data.dir=../shared/data
Variants: "smoke" (scikit-learn's 8x8 digits, a 4x4 grid of 16 codes), "cifar10" (CIFAR-10 32x32
-> an 8x8 grid from a 256-code codebook, minutes on 2 CPU cores) and "cifar10_smoke" (its tiny
version on the CIFAR-10 test images).
"""

from experiments.configs import common


def vqvae_config(c, num_codes: int = 64):
    """Turn a base config into a VQ-VAE one: model.name 'vqvae', its fields and the objective's."""
    c.model.name = "vqvae"
    c.model.num_res_blocks = 1          # residual blocks at the token resolution (encoder and decoder)
    c.model.code_dim = 16               # D, the width of a code vector
    c.objective.name = "vqvae"
    c.objective.num_codes = num_codes   # K, codebook size (the token models' vocabulary)
    c.objective.beta = 0.25             # weight of the commitment loss (van den Oord et al.: 0.25)
    c.objective.codebook_decay = 0.99   # γ of the EMA codebook update
    c.objective.dead_threshold = 1.0    # restart codes with fewer EMA assignments per batch (0: never; Jukebox: 1)
    c.optim.ema_decay = 0.0             # no weight EMA: the codebook is fitted to the raw encoder
    c.train.num_final_samples = 0       # a tokenizer's samples (independent tokens) are not the point
    return c


def get_config(variant: str = ""):
    c = vqvae_config(common.base_config())
    c.data.name = "mnist"
    common.update(c, model=dict(channels=32, channel_mult=(1, 2)),  # 28 -> 14 -> 7
                  optim=dict(learning_rate=1e-3, warmup_steps=100),
                  train=dict(steps=200, batch_size=32, ckpt_every=50, sample_every=0))  # minutes on 2 CPUs
    smoke = common.preset(common.smoke, data=dict(name="digits"),
                          model=dict(channel_mult=(1,), code_dim=4),  # 8 -> 4: a 4x4 grid
                          objective=dict(num_codes=16), train=dict(num_final_samples=0))
    cifar10 = common.preset(data=dict(name="cifar10"),
                            model=dict(channels=64, code_dim=32),  # 32 -> 16 -> 8: an 8x8 grid
                            objective=dict(num_codes=256),
                            train=dict(steps=300, ckpt_every=100))
    cifar10_smoke = common.preset(cifar10, common.smoke, data=dict(split="test"), model=dict(code_dim=4),
                                  objective=dict(num_codes=16), train=dict(num_final_samples=0))
    return common.with_variant(c, variant, "vqvae_mnist.py", smoke=smoke, cifar10=cifar10,
                               cifar10_smoke=cifar10_smoke)
