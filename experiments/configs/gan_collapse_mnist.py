"""A GAN on MNIST that mode-collapses, beside the healthy configs/dcgan_mnist.py (issue 5, "mode
collapse, measured"): the same DCGAN networks, but the saturating minimax generator loss
(Goodfellow et al. 2014, eq. 1, whose gradient vanishes when D rejects the fakes) and a
discriminator that overpowers the generator (learning rate ×10). Class coverage and recall of the
training loop's evaluation (train.eval_every) fall; see experiments/bench_gan.py --mode=collapse.

python -m experiments.main --config=experiments/configs/gan_collapse_mnist.py \
    --workdir=runs/gan_collapse_mnist --config.data.dir=../shared/data
"""

from experiments.configs import dcgan_mnist


def get_config(variant: str = ""):
    c = dcgan_mnist.get_config(variant)
    c.objective.loss = "minimax"        # saturating: log(1 - D(G(z))), flat where D wins
    c.optim.d_learning_rate = 2e-3      # D's learning rate ×10 (G keeps 2e-4)
    c.train.eval_every = 100            # class coverage / precision / recall every 100 steps
    if variant == "smoke":
        c.train.eval_every = 1
    return c
