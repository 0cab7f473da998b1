"""The GAN sections shared by the GAN configs: base_config() with the DCGAN model, the gan
objective and Adam's β's. The diffusion-only fields of base_config (objective.schedule, sampler.*)
are unused by objective 'gan'."""

from experiments.configs import common


def gan_config():
    c = common.base_config()
    c.model.name = "dcgan"              # DCGAN generator + discriminator (gen_jax/nn/dcgan.py)
    c.model.channels = 64               # G's last / D's first conv width; doubles per level
    c.model.z_dim = 100                 # latent size
    c.model.g_norm = "group"            # normalisation in G: group | none (no batch norm: no batch_stats)
    c.model.class_conditional = False   # class embedding concatenated to z; projection discriminator

    c.objective.name = "gan"
    c.objective.loss = "nonsaturating"  # nonsaturating | minimax | hinge | wgan-gp
    c.objective.n_critic = 1            # discriminator updates per generator update
    c.objective.gp_weight = 10.0        # WGAN-GP penalty weight λ (loss wgan-gp only)
    c.objective.r1_gamma = 0.0          # R1 penalty γ on real data, any loss (0: off)

    c.optim.learning_rate = 2e-4        # generator learning rate (Adam)
    c.optim.d_learning_rate = 2e-4      # discriminator learning rate (Adam)
    c.optim.b1 = 0.5                    # Adam β1 for both (DCGAN: 0.5)
    c.optim.b2 = 0.999                  # Adam β2 for both
    c.optim.warmup_steps = 0            # linear warm-up steps
    c.optim.grad_clip = 0.0             # global-norm clip (0 disables)
    c.optim.ema_decay = 0.999           # EMA of G's parameters used for sampling
    return c


def smoke(c):
    """common.smoke plus a small latent."""
    common.smoke(c)
    c.model.z_dim = 16
    return c
