"""A GAN on MNIST that collapses, beside the healthy configs/dcgan_mnist.py (issue 5, "mode
collapse, measured"): the same DCGAN networks and data, but the saturating minimax generator loss
log(1 - σ(f(G(z)))) (Goodfellow et al. 2014, eq. 1: its gradient vanishes where D rejects the
fakes) with a discriminator that overpowers the generator (D's learning rate ×10). D wins within
~100 steps, G's gradient dies and G stops learning: its samples stay noise that the MNIST
classifier files under about half the classes (class coverage ~0.5, normalised entropy ~0.55), recall
0, FID ~390, while the healthy run reaches all 10 classes (see experiments/bench_gan.py
--mode=collapse and docs/gans.md). The k-NN precision of the collapsed noise depends on the run:
~0.99 was seen in one 600-step run (real outliers with large k-NN balls hold it), 0.05 in the
200-step run of docs/gans.md (500 samples, model.channels = 16); PRDC coverage stays near 0.

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
