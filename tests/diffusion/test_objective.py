import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "train"))
from helpers import tiny_objective  # noqa: E402

from gen_jax.samplers import SAMPLERS  # noqa: E402


def _params(obj):
    p = obj.init(jax.random.PRNGKey(0)).params
    # the output layers are zero-initialised; perturb so that outputs depend on the label
    leaves, tree = jax.tree.flatten(p)
    keys = jax.random.split(jax.random.PRNGKey(1), len(leaves))
    return jax.tree.unflatten(tree, [l + 0.05 * jax.random.normal(k, l.shape) for l, k in zip(leaves, keys)])


def test_classifier_free_guidance_scales():
    obj = tiny_objective()
    params = _params(obj)
    x = jax.random.normal(jax.random.PRNGKey(2), (4, 8, 8, 1))
    t = jnp.array([3, 10, 20, 40])
    y = jnp.array([1, 2, 3, 4])

    @jax.jit
    def eps(w, labels):
        return obj.denoiser(params, labels, w)(x, t)[1]

    uncond = obj.denoiser(params, None)(x, t)[1]
    cond = eps(1.0, y)
    assert not np.allclose(cond, uncond, atol=1e-3)
    np.testing.assert_allclose(eps(0.0, y), uncond, atol=1e-5)  # w = 0: the unconditional model
    np.testing.assert_allclose(eps(3.0, y), uncond + 3.0 * (cond - uncond), atol=1e-4)


def test_cfg_w0_sampler_equals_the_unconditional_sampler():
    obj = tiny_objective()
    params = _params(obj)
    run = jax.jit(lambda labels, w: obj.sample(params, jax.random.PRNGKey(0), 4, num_steps=5,
                                               eta=1.0, labels=labels, guidance=w))
    a = run(jnp.array([1, 2, 3, 4]), 0.0)
    b = obj.sample(params, jax.random.PRNGKey(0), 4, num_steps=5, eta=1.0, labels=None)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(run(jnp.array([1, 2, 3, 4]), 4.0), b, atol=1e-3)



def test_every_registered_sampler_runs_from_the_objective():
    """Dispatch by name; eta is given only to the samplers that take it (to any other it is an
    error, below). One jit for all of them: compiling them together takes about half as long as
    one jit each."""
    obj = tiny_objective(conditional=False)
    params = obj.init(jax.random.PRNGKey(0)).params
    eta = lambda name: {"eta": 0.5} if "eta" in SAMPLERS[name].options else {}  # noqa: E731
    run = jax.jit(lambda p, k: {name: obj.sample(p, k, 2, sampler=name, num_steps=3, **eta(name))
                                for name in SAMPLERS})
    out = run(params, jax.random.PRNGKey(1))
    assert sorted(out) == sorted(SAMPLERS)
    for name, x in out.items():
        assert x.shape == (2, 8, 8, 1) and bool(jnp.all(jnp.isfinite(x))), name


def test_unknown_sampler_names_the_registered_ones():
    obj = tiny_objective(conditional=False)
    with pytest.raises(ValueError, match="sampler 'ddpm' does not take option 'eta'"):
        obj.sample(None, jax.random.PRNGKey(0), 2, sampler="ddpm", eta=0.5)
    with pytest.raises(ValueError, match="unknown sampler 'dpm3'.*'unipc'"):
        obj.sample(None, jax.random.PRNGKey(0), 2, sampler="dpm3")


def test_negative_conditioning_replaces_the_null_class():
    obj = tiny_objective()
    params = _params(obj)
    x = jax.random.normal(jax.random.PRNGKey(2), (2, 8, 8, 1))
    t = jnp.array([5, 30])
    y, neg = jnp.array([1, 2]), jnp.array([7, 7])
    eps = lambda labels, w, n=None: obj.denoiser(params, labels, w, n)(x, t)[1]
    want = eps(neg, 1.0) + 2.5 * (eps(y, 1.0) - eps(neg, 1.0))
    np.testing.assert_allclose(eps(y, 2.5, neg), want, atol=1e-4)
