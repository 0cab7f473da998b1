"""A class-conditional raster-order transformer over the 7x7 VQ-VAE tokens of MNIST
(vqvae_mnist.py trains the tokenizer), sampled with a KV cache.

python -m experiments.main --config=experiments/configs/ar_mnist.py --workdir=runs/ar_mnist \
    --config.data.dir=../shared/data --config.objective.tokenizer_workdir=runs/vqvae_mnist
Variants: "smoke" (scikit-learn's 8x8 digits with the vqvae_mnist.py:smoke workdir), "cifar10"
(the 8x8 tokens of vqvae_mnist.py:cifar10, minutes on 2 CPU cores) and "cifar10_smoke" (with the
vqvae_mnist.py:cifar10_smoke workdir).
"""

from experiments.configs import common


def token_model_config(c, name: str = "ar"):
    """Turn a base config into a token-model one (objective.name 'ar' or 'maskgit')."""
    c.model.name = "token_transformer"
    c.model.width = 128                 # token width (a multiple of num_heads)
    c.model.depth = 4                   # transformer blocks
    c.model.num_heads = 4               # attention heads
    c.model.mlp_ratio = 4               # MLP hidden width / token width
    c.model.class_conditional = True    # class embedding at position 0 (with a null class for CFG)
    c.objective.name = name
    c.objective.tokenizer_workdir = ""  # workdir of a trained vqvae run (required)
    c.objective.cond_drop_prob = 0.1    # P(label -> null class) in training, for classifier-free guidance
    c.sampler.name = "raster" if name == "ar" else "maskgit"  # informational: the family decides
    c.sampler.guidance = 1.0            # CFG weight on logits (1: plain conditional)
    c.sampler.temperature = 1.0         # softmax temperature (0: greedy)
    c.sampler.top_k = 0                 # keep the k most likely tokens (0: all)
    c.sampler.top_p = 1.0               # nucleus: smallest set with this probability (1: all)
    c.sampler.num_steps = 8             # MaskGIT: parallel decoding steps (raster: always h·w)
    c.sampler.choice_temperature = 4.5  # MaskGIT: Gumbel noise on the confidences, annealed to 0
    c.train.num_final_samples = 100     # experiments.main's grid: labels (and MaskGIT's num_steps) from here
    return c


def get_config(variant: str = ""):
    c = token_model_config(common.base_config(), "ar")
    mnist_sizes(c)
    c.train.sample_every = 0
    return common.with_variant(c, variant, "ar_mnist.py", **variants())


def variants() -> dict:
    """The variants the token-model configs share (ar_mnist.py, maskgit_mnist.py)."""
    cifar10_smoke = common.preset(cifar10_sizes, smoke, data=dict(name="cifar10", split="test"))
    return dict(smoke=smoke, cifar10=cifar10_sizes, cifar10_smoke=cifar10_smoke)


def mnist_sizes(c):
    """Data, width and schedule of the MNIST token models: small, to train in minutes on 2 CPU cores."""
    c.data.name = "mnist"
    return common.update(c, model=dict(width=64, depth=2, num_heads=4),
                         optim=dict(learning_rate=1e-3, warmup_steps=50, cosine_decay=True),
                         train=dict(steps=300, batch_size=32, ckpt_every=100))


def cifar10_sizes(c):
    """CIFAR-10 over the 8x8 tokens of vqvae_mnist.py:cifar10 (64 positions, 256 codes): wider and
    deeper than MNIST's, still minutes on 2 CPU cores."""
    c.data.name = "cifar10"
    return common.update(c, model=dict(width=128, depth=4, num_heads=4),
                         train=dict(steps=500, batch_size=32, ckpt_every=100))


def smoke(c):
    return common.update(common.smoke(c), data=dict(name="digits"), model=dict(width=16, depth=1, num_heads=2),
                         sampler=dict(num_steps=3))
