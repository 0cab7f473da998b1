import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gen_jax.nn.dit import DiT, DiT_S2, DiT_Tiny, patchify, sincos_pos_embed_2d, unpatchify


def test_patchify_unpatchify_are_exact_inverses_and_patches_are_contiguous():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 12, 3))
    tokens = patchify(x, 4)
    chex.assert_shape(tokens, (2, 6, 48))
    np.testing.assert_array_equal(unpatchify(tokens, 4, 8, 12), x)
    # token 4 is grid cell (row 1, col 1): the pixels x[:, 4:8, 4:8]
    np.testing.assert_array_equal(tokens[:, 4], x[:, 4:8, 4:8].reshape(2, -1))
    t = jax.random.normal(jax.random.PRNGKey(1), (2, 6, 48))
    np.testing.assert_array_equal(patchify(unpatchify(t, 4, 8, 12), 4), t)


def test_sincos_position_embedding_distinguishes_every_position():
    e = sincos_pos_embed_2d(16, 3, 4)
    assert e.shape == (12, 16)
    # position (0, 0): sin 0 = 0 in the sin halves, cos 0 = 1 in the cos halves
    np.testing.assert_array_equal(e[0], [0] * 4 + [1] * 4 + [0] * 4 + [1] * 4)
    dist = np.linalg.norm(e[:, None] - e[None], axis=-1) + np.eye(12)
    assert dist.min() > 0.1


def test_output_shape_and_adaln_zero_output_is_exactly_zero():
    m = DiT_Tiny(out_channels=2)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 8, 8, 1))
    t = jnp.array([0, 10, 999])
    params = jax.jit(m.init)(jax.random.PRNGKey(1), x, t)
    out = jax.jit(m.apply)(params, x, t)
    chex.assert_shape(out, (3, 8, 8, 2))
    chex.assert_type(out, jnp.float32)
    assert float(jnp.abs(out).max()) == 0.0


def test_class_and_timestep_change_the_output_once_weights_are_perturbed():
    m = DiT_Tiny(num_classes=10)
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 1))
    params = jax.jit(m.init)(jax.random.PRNGKey(1), x, jnp.zeros(2, jnp.int32), jnp.zeros(2, jnp.int32))
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(2), len(leaves))
    params = tree.unflatten([p + 0.05 * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)])
    apply = jax.jit(m.apply)
    f = lambda t, y: apply(params, x, jnp.full(2, t), y)
    a = f(5, jnp.array([1, 1]))
    assert float(jnp.abs(a - f(5, jnp.array([2, 2]))).max()) > 1e-3
    assert float(jnp.abs(a - f(500, jnp.array([1, 1]))).max()) > 1e-3
    # labels=None means the null class (index num_classes)
    np.testing.assert_allclose(apply(params, x, jnp.full(2, 5), None), f(5, jnp.array([10, 10])), atol=1e-6)


def test_bad_resolution_is_a_clear_error():
    with pytest.raises(ValueError, match="patch_size=4 needs H and W divisible by 4; got 6x6"):
        DiT_Tiny(patch_size=4).init(jax.random.PRNGKey(0), jnp.zeros((1, 6, 6, 1)), jnp.zeros(1))


def test_preset_S2_has_the_paper_parameter_count():
    # DiT-S/2 has 33M parameters (paper Table 1: 32x32x4 latents, 8 output channels for learned Σ).
    shapes = jax.eval_shape(DiT_S2(out_channels=8).init, jax.random.PRNGKey(0),
                            jnp.zeros((1, 32, 32, 4)), jnp.zeros(1), jnp.zeros(1, jnp.int32))
    n = sum(np.prod(s.shape) for s in jax.tree.leaves(shapes))
    assert 32e6 < n < 34e6, n


def test_dit_smoke_config_trains_two_steps_and_writes_samples(tmp_path):
    from experiments.configs import dit_default
    from experiments.train import run

    c = dit_default.get_config("smoke")
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2
    assert "DiTBlock_0" in state.params  # the network is the DiT
    assert (tmp_path / "samples.png").exists()


@pytest.mark.parametrize("field,value,msg", [
    ("patch_size", 3, "config.model.patch_size: expected a divisor of the image size 8x8"),
    ("hidden_size", 30, "config.model.hidden_size"),
    ("depth", 0, "config.model.depth"),
])
def test_bad_dit_fields_are_named(field, value, msg):
    from experiments import build
    from experiments.configs import dit_default

    c = dit_default.get_config("smoke")
    c.model[field] = value
    with pytest.raises(ValueError, match=msg):
        build.objective(c, (8, 8, 1), 10)
