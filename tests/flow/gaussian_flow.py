"""The exact rectified-flow velocity for Gaussian data x0 ~ N(μ, s²·I).

x_t = (1 − t)·x0 + t·z is Gaussian with mean m_t = (1 − t)·μ and variance V_t = (1 − t)²s² + t², and
Cov(z − x0, x_t) = t − (1 − t)s², so v*(x, t) = E[z − x0 | x_t = x] = −μ + (t − (1 − t)s²)/V_t·(x − m_t).
Its ODE keeps the standardised coordinate fixed, so it maps noise x1 to x0 = μ + s·x1 exactly.
"""

import jax.numpy as jnp

MU, S = 0.7, 0.4


def velocity(x, t, mu=MU, s=S):
    t = jnp.reshape(t, t.shape + (1,) * (x.ndim - 1))
    var = (1 - t) ** 2 * s**2 + t**2
    return -mu + (t - (1 - t) * s**2) / var * (x - (1 - t) * mu)


def endpoint(x1, mu=MU, s=S):
    return mu + s * x1
