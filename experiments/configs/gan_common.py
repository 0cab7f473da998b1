"""The GAN sections shared by the GAN configs: base_config() with the DCGAN model, the gan
objective and Adam's β's. The diffusion-only fields of base_config (objective.schedule, sampler.*
but sampler.truncation) are unused by objective 'gan'."""

from experiments.configs import common


def gan_config():
    c = common.base_config()
    c.model.name = "dcgan"              # dcgan | sngan | stylegan2 (gen_jax/nn/{dcgan,sngan,stylegan}.py)
    c.model.channels = 64               # G's width (DCGAN: last / D's first conv width; doubles per level)
    c.model.d_channels = 0              # D's width (0: model.channels)
    c.model.z_dim = 100                 # latent size
    c.model.g_norm = "batch"            # normalisation in G: batch | group | none (dcgan, sngan)
    c.model.d_spectral_norm = False     # spectral normalisation of every D layer
    c.model.class_conditional = False   # conditional G (dcgan: embedding concatenated to z; sngan:
                                        # conditional BN; stylegan2: embedding into the mapping) + projection D
    # stylegan2 only (gen_jax/nn/stylegan.py):
    c.model.w_dim = 128                 # style (w) size
    c.model.mapping_layers = 4          # fully connected layers of the mapping network z -> w
    c.model.style_mixing_prob = 0.9     # P(a training sample mixes the w's of two latents)
    c.model.w_avg_beta = 0.995          # EMA decay of w_avg (the truncation centre)

    c.objective.name = "gan"
    c.objective.loss = "nonsaturating"  # nonsaturating | minimax | hinge | wgan-gp
    c.objective.n_critic = 1            # discriminator updates per generator update
    c.objective.gp_weight = 10.0        # WGAN-GP penalty weight λ (loss wgan-gp only)
    c.objective.r1_gamma = 0.0          # R1 penalty γ on real data, any loss (0: off)
    c.objective.diffaugment = ""        # DiffAugment before D: "" (off) or e.g. "color,translation,cutout"

    c.sampler.truncation = 1.0          # truncation ψ of previews and samples.png (stylegan2; 1: off)

    c.optim.learning_rate = 2e-4        # generator learning rate (Adam)
    c.optim.d_learning_rate = 2e-4      # discriminator learning rate (Adam)
    c.optim.b1 = 0.5                    # Adam β1 for both (DCGAN: 0.5)
    c.optim.b2 = 0.999                  # Adam β2 for both
    c.optim.warmup_steps = 0            # linear warm-up steps
    c.optim.grad_clip = 0.0             # global-norm clip (0 disables)
    c.optim.ema_decay = 0.999           # EMA of G's variables (weights, BN statistics) used for sampling
    return c


def adam(c, lr: float, d_lr: float, b1: float, b2: float):
    """G's and D's Adam learning rates and the β's they share."""
    c.optim.learning_rate, c.optim.d_learning_rate = lr, d_lr
    c.optim.b1, c.optim.b2 = b1, b2
    return c


def mnist_run(c, steps: int = 5000):
    """MNIST, batch 64, a checkpoint and a preview grid every 500 steps."""
    c.data.name = "mnist"
    return common.update(c, train=dict(steps=steps, batch_size=64, ckpt_every=500, sample_every=500))


def smoke(c):
    """common.smoke plus a small latent (and small StyleGAN2 mapping)."""
    return common.update(common.smoke(c), model=dict(z_dim=16, w_dim=16, mapping_layers=2))
