"""A GAN on MNIST that collapses, beside the healthy configs/dcgan_mnist.py (issue 5, "mode
collapse, measured"): the same DCGAN networks and data, but the saturating minimax generator loss
log(1 - σ(f(G(z)))) (Goodfellow et al. 2014, eq. 1: its gradient vanishes where D rejects the
fakes) with a discriminator that overpowers the generator (D's learning rate ×10). D wins within
~100 steps, G's gradient dies and G stops learning: its samples stay noise that the MNIST
classifier files under about half the classes (class coverage ~0.5, normalised entropy ~0.55), recall
0, FID ~390, while the healthy run reaches all 10 classes (see experiments/bench_gan.py
--mode=collapse). k-NN precision (k = 3) stays high (~0.99) and density too (0.55 vs 0.31
healthy) for this noise: real outliers with large k-NN balls hold it; PRDC coverage does not
(0.006 vs 0.079 healthy, 600 steps at model.channels = 16).

python -m experiments.main --config=experiments/configs/gan_collapse_mnist.py \
    --workdir=runs/gan_collapse_mnist --config.data.dir=../shared/data
"""

from experiments.configs import dcgan_mnist


def get_config(variant: str = ""):
    c = dcgan_mnist.get_config(variant)
    c.objective.loss = "minimax"        # saturating: G minimises log(1 - D(G(z))), flat where D wins
    c.optim.d_learning_rate = 2e-3      # D's learning rate ×10 (G keeps 2e-4)
    c.train.eval_every = 100            # class coverage / precision / recall every 100 steps
    if variant == "smoke":
        c.train.eval_every = 1
    return c
