"""CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B with two generators
G_AB, G_BA and two PatchGAN discriminators D_A, D_B, trained with least-squares GAN losses
(Mao et al. 2017), the cycle-consistency loss λ·(|G_BA(G_AB(a)) − a|₁ + |G_AB(G_BA(b)) − b|₁)
(eq. 2) and the identity loss λ_id·λ·(|G_BA(a) − a|₁ + |G_AB(b) − b|₁) (sec. 5.2). D sees fakes
drawn from a history pool of past generated images (Shrivastava et al. 2017), kept in the state.

One `step` does the alternation on device, as the paper's reference code does: a G update (both
generators), then a D update (both discriminators) on the fakes of that step through the pool.
Batches are {"image": [B, H, W, 2C]}: channels [:C] an image of A, [C:] an (unrelated) image of B
(gen_jax/data/mnist_m.py)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import optax

from gen_jax.train.state import TrainState, ema_update

DIRECTIONS = ("a2b", "b2a")


# --- losses (pure; generators and discriminators are any callables) ---------------------------------
def lsgan_d_loss(d_real, d_fake):
    """Least-squares D loss ½(E(D(x) − 1)² + E D(G(z))²) (Mao et al. 2017, eq. 9 with a=0, b=1;
    CycleGAN halves D's objective to slow it relative to G)."""
    return 0.5 * (jnp.mean((d_real - 1.0) ** 2) + jnp.mean(d_fake ** 2))


def lsgan_g_loss(d_fake):
    """Least-squares G loss E(D(G(z)) − 1)²."""
    return jnp.mean((d_fake - 1.0) ** 2)


def cycle_and_identity(g_ab: Callable, g_ba: Callable, a, b):
    """(fake_a, fake_b, cycle, identity): fake_b = G_AB(a), fake_a = G_BA(b), cycle =
    mean|G_BA(fake_b) − a| + mean|G_AB(fake_a) − b|, identity = mean|G_BA(a) − a| + mean|G_AB(b) − b|."""
    fake_b, fake_a = g_ab(a), g_ba(b)
    cycle = jnp.mean(jnp.abs(g_ba(fake_b) - a)) + jnp.mean(jnp.abs(g_ab(fake_a) - b))
    identity = jnp.mean(jnp.abs(g_ba(a) - a)) + jnp.mean(jnp.abs(g_ab(b) - b))
    return fake_a, fake_b, cycle, identity


def pool_query(pool, count, images, key):
    """The image history pool (CycleGAN's ImagePool): for each image in order, if the pool
    [P, ...] holds fewer than P (count), store and return it; otherwise with probability ½ return
    a random stored image and store the new one in its place, else return the new one.
    Returns (images to show D [B, ...], pool, count)."""
    size = pool.shape[0]

    def body(carry, inp):
        pool, count = carry
        img, k = inp
        k_coin, k_idx = jax.random.split(k)
        full = count >= size
        swap = full & jax.random.bernoulli(k_coin, 0.5)
        idx = jnp.where(full, jax.random.randint(k_idx, (), 0, size), count)
        old = pool[idx]
        pool = pool.at[idx].set(jnp.where(full & ~swap, old, img))
        return (pool, count + (~full).astype(count.dtype)), jnp.where(swap, old, img)

    keys = jax.random.split(key, images.shape[0])
    (pool, count), out = jax.lax.scan(body, (pool, count), (images, keys))
    return out, pool, count


@flax.struct.dataclass
class CycleGANState(TrainState):
    """params = {"g_ab", "g_ba", "d_a", "d_b"}; opt_state = {"g", "d"}; ema_params = EMA of
    {"g_ab", "g_ba"} (what translate/sample take); pool = {"a", "b": [P, H, W, C], "count_a",
    "count_b"}."""

    pool: Any = None


@dataclasses.dataclass(frozen=True)
class CycleGANObjective:
    generator: nn.Module             # generator(x [B, H, W, C]) -> [B, H, W, C]; used for both directions
    discriminator: nn.Module         # discriminator(x) -> patch logits
    image_shape: tuple               # (H, W, C) of one domain
    tx_g: optax.GradientTransformation
    tx_d: optax.GradientTransformation
    lr_schedule_g: Callable
    lr_schedule_d: Callable
    cycle_weight: float = 10.0       # λ (the paper: 10)
    identity_weight: float = 0.5     # λ_id, relative to λ (the paper: 0.5 for photo↔painting)
    pool_size: int = 50              # history pool per domain (the paper: 50; 0: no pool)
    ema_decay: float = 0.999
    num_classes: None = None         # unconditional: labels are not used (main.run reads this)

    def split(self, batch):
        c = self.image_shape[-1]
        x = batch["image"]
        return x[..., :c], x[..., c:]

    def init(self, key, batch_size: int = 2) -> CycleGANState:
        k = jax.random.split(key, 5)
        x = jnp.zeros((batch_size, *self.image_shape), jnp.float32)
        params = {"g_ab": self.generator.init(k[0], x)["params"],
                  "g_ba": self.generator.init(k[1], x)["params"],
                  "d_a": self.discriminator.init(k[2], x)["params"],
                  "d_b": self.discriminator.init(k[3], x)["params"]}
        g = {n: params[n] for n in ("g_ab", "g_ba")}
        d = {n: params[n] for n in ("d_a", "d_b")}
        pool_shape = (self.pool_size, *self.image_shape)
        pool = {"a": jnp.zeros(pool_shape), "b": jnp.zeros(pool_shape),
                "count_a": jnp.zeros((), jnp.int32), "count_b": jnp.zeros((), jnp.int32)}
        return CycleGANState(step=jnp.zeros((), jnp.int32), params=params,
                             ema_params=jax.tree.map(jnp.copy, g),
                             opt_state={"g": self.tx_g.init(g), "d": self.tx_d.init(d)},
                             rng=jnp.asarray(k[4]), pool=pool)

    def _g(self, p):
        return lambda x: self.generator.apply({"params": p}, x)

    def _d(self, p):
        return lambda x: self.discriminator.apply({"params": p}, x)

    def g_loss_fn(self, g_params, d_params, a, b):
        fake_a, fake_b, cycle, identity = cycle_and_identity(self._g(g_params["g_ab"]),
                                                             self._g(g_params["g_ba"]), a, b)
        adv = lsgan_g_loss(self._d(d_params["d_b"])(fake_b)) + lsgan_g_loss(self._d(d_params["d_a"])(fake_a))
        loss = adv + self.cycle_weight * (cycle + self.identity_weight * identity)
        return loss, {"fake_a": fake_a, "fake_b": fake_b, "g_adv": adv, "cycle": cycle, "identity": identity}

    def d_loss_fn(self, d_params, a, b, fake_a, fake_b):
        d_a, d_b = self._d(d_params["d_a"]), self._d(d_params["d_b"])
        loss_a, loss_b = lsgan_d_loss(d_a(a), d_a(fake_a)), lsgan_d_loss(d_b(b), d_b(fake_b))
        return loss_a + loss_b, {"d_a": loss_a, "d_b": loss_b}

    def step(self, state: CycleGANState, batch: dict):
        """A G update of both generators, then a D update of both discriminators on this step's
        fakes through the history pools. batch: {"image": [B, H, W, 2C]}."""
        key = jax.random.fold_in(state.rng, state.step)
        k_a, k_b = jax.random.split(key)
        a, b = self.split(batch)
        g_params = {n: state.params[n] for n in ("g_ab", "g_ba")}
        d_params = {n: state.params[n] for n in ("d_a", "d_b")}
        (loss_g, aux), grads_g = jax.value_and_grad(self.g_loss_fn, has_aux=True)(g_params, d_params, a, b)
        updates, opt_g = self.tx_g.update(grads_g, state.opt_state["g"], g_params)
        g_params = optax.apply_updates(g_params, updates)

        fake_a, fake_b = jax.lax.stop_gradient(aux["fake_a"]), jax.lax.stop_gradient(aux["fake_b"])
        pool = state.pool
        if self.pool_size:
            fake_a, pool_a, count_a = pool_query(pool["a"], pool["count_a"], fake_a, k_a)
            fake_b, pool_b, count_b = pool_query(pool["b"], pool["count_b"], fake_b, k_b)
            pool = {"a": pool_a, "b": pool_b, "count_a": count_a, "count_b": count_b}
        (loss_d, d_aux), grads_d = jax.value_and_grad(self.d_loss_fn, has_aux=True)(d_params, a, b, fake_a, fake_b)
        updates, opt_d = self.tx_d.update(grads_d, state.opt_state["d"], d_params)
        d_params = optax.apply_updates(d_params, updates)

        ema = ema_update(state.ema_params, g_params, self.ema_decay, state.step)
        metrics = {"loss": jnp.where(jnp.isfinite(loss_d), loss_g, jnp.nan), "g_loss": loss_g,
                   "d_loss": loss_d, "g_adv": aux["g_adv"], "cycle": aux["cycle"],
                   "identity": aux["identity"], **d_aux, "g_grad_norm": optax.tree.norm(grads_g),
                   "d_grad_norm": optax.tree.norm(grads_d), "learning_rate": self.lr_schedule_g(state.step)}
        return state.replace(step=state.step + 1, params={**g_params, **d_params}, ema_params=ema,
                             opt_state={"g": opt_g, "d": opt_d}, pool=pool), metrics

    # --- translation ------------------------------------------------------------------------------
    def translate(self, params, x, direction: str = "a2b"):
        """x [B, H, W, C] in [-1, 1] of the source domain -> [B, H, W, C]; params = state.ema_params."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        return self._g(params["g_ab" if direction == "a2b" else "g_ba"])(x)

    def cycle(self, params, x, direction: str = "a2b"):
        """x -> the other domain -> back: [B, H, W, C]."""
        back = "b2a" if direction == "a2b" else "a2b"
        return self.translate(params, self.translate(params, x, direction), back)

    def sample(self, params, key, num: int | None = None, *, images=None, direction: str = "a2b"):
        """Translations of images [N, H, W, C] (required: CycleGAN maps images, it does not
        generate from noise) in `direction` ("a2b" or "b2a"). key and num are unused (the
        generators are deterministic)."""
        if images is None:
            raise ValueError("cyclegan.sample needs images=[N, H, W, C] of the source domain to translate")
        del key, num
        return self.translate(params, jnp.asarray(images), direction)

    def preview(self, params, key, num: int):
        raise ValueError("cyclegan has no preview grid (it translates given images): set "
                         "train.sample_every=0 and train.eval_every=0; see experiments/bench_cyclegan.py")
