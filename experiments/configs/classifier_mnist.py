"""Noise-conditional MNIST classifier for classifier guidance (use with experiments.sample
--classifier_workdir). Its noise schedule must match the diffusion model's (linear, T = 1000).

python -m experiments.main --config=experiments/configs/classifier_mnist.py --workdir=runs/mnist_clf \
    --config.data.dir=../shared/data
"""

from experiments.configs import common


def get_config(variant: str = ""):
    c = common.base_config()
    c.data.name = "mnist"
    c.objective.name = "noisy_classifier"
    common.update(c, model=dict(channels=16, channel_mult=(1, 2, 2)), optim=dict(learning_rate=1e-3),
                  train=dict(steps=2000, sample_every=0))
    return common.with_variant(c, variant, "classifier_mnist.py")
