"""MaskGIT on MNIST: a class-conditional bidirectional transformer over the 7x7 VQ-VAE tokens
(vqvae_mnist.py trains the tokenizer), decoded in sampler.num_steps parallel steps with a cosine
mask schedule.

python -m experiments.main --config=experiments/configs/maskgit_mnist.py --workdir=runs/maskgit_mnist \
    --config.data.dir=../shared/data --config.objective.tokenizer_workdir=runs/vqvae_mnist
Variants: as ar_mnist.py's ("smoke", "cifar10", "cifar10_smoke").
"""

from experiments.configs import ar_mnist, common


def get_config(variant: str = ""):
    c = ar_mnist.token_model_config(common.base_config(), "maskgit")
    ar_mnist.mnist_sizes(c)
    c.train.sample_every = 0
    return common.with_variant(c, variant, "maskgit_mnist.py", **ar_mnist.variants())
