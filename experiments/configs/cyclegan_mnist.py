"""CycleGAN between MNIST and MNIST-M (digits blended over CIFAR-10 patches, generated
deterministically by gen_jax/data/mnist_m.py): 10,000 unpaired images per domain at 28x28x3.

python -m experiments.main --config=experiments/configs/cyclegan_mnist.py --workdir=runs/cyclegan_mnist \
    --config.data.dir=../shared/data
python -m experiments.bench_cyclegan --workdir=runs/cyclegan_mnist --data_dir=../shared/data
Variants: "fashion" (MNIST <-> Fashion-MNIST, 60,000 unpaired images per domain at 28x28x1,
gen_jax/data/unpaired.py), "smoke" and "fashion_smoke" (tiny networks on the test pairs).
"""

from experiments.configs import common


def get_config(variant: str = ""):
    c = common.base_config()
    c.data.name = "mnist_mnistm"        # channels 0-2: MNIST (grey as RGB), 3-5: MNIST-M (unpaired)
    c.model.name = "cyclegan"
    c.model.channels = 16               # generator width k (c7s1-k, d2k, d4k); the paper: 64
    c.model.num_blocks = 3              # residual blocks at 7x7; the paper: 6 (128²) or 9 (256²)
    c.model.d_channels = 16             # PatchGAN first-layer width; the paper: 64
    c.model.d_layers = 2                # stride-2 PatchGAN layers (28 -> 7 patches); the paper: 3
    c.objective.name = "cyclegan"
    c.objective.cycle_weight = 10.0     # λ of the cycle-consistency loss (the paper: 10)
    c.objective.identity_weight = 0.5   # identity loss weight relative to λ (the paper: 0.5)
    c.objective.pool_size = 50          # history pool of generated images per domain (the paper: 50)
    c.optim.learning_rate = 2e-4        # G's Adam learning rate (the paper: 2e-4, β1 = 0.5)
    c.optim.d_learning_rate = 2e-4      # D's Adam learning rate
    c.optim.b1 = 0.5                    # Adam β1
    # base_config's global-norm clip at 1 stays (the paper clips nothing): at 200 steps, unclipped
    # training kept less of each digit (docs/cyclegan.md)
    c.optim.grad_clip = 1.0             # global-norm clip of each player's gradient (0 disables)
    c.optim.warmup_steps = 0
    c.optim.cosine_decay = True         # the paper decays linearly over the second half
    # minutes on 2 shared CPU cores; no preview grid nor samples.png: CycleGAN translates given
    # images (experiments.bench_cyclegan writes the translation grids)
    c.train.update(steps=200, batch_size=8, ckpt_every=100, sample_every=0, num_final_samples=0)
    smoke = common.preset(common.smoke, data=dict(split="test"),
                          model=dict(channels=4, num_blocks=1, d_channels=4, d_layers=1),
                          objective=dict(pool_size=4), train=dict(batch_size=4, num_final_samples=0))
    fashion = common.preset(data=dict(name="mnist_fashion"))  # channel 0: MNIST, 1: Fashion-MNIST
    return common.with_variant(c, variant, "cyclegan_mnist.py", smoke=smoke, fashion=fashion,
                               fashion_smoke=common.preset(smoke, fashion))
