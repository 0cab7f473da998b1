"""The smoke configs train through experiments.train.run: the VQ-VAE tokenizer, then the raster
and MaskGIT token models on its grid, and their samples decode to images; the same on CIFAR-10
(the cifar10_smoke variants, 32x32 -> 8x8 tokens)."""

import jax
import numpy as np
import pytest

from experiments import build
from experiments.configs import ar_mnist, maskgit_mnist, vqvae_mnist
from experiments.families import ar as ar_family, maskgit as maskgit_family
from experiments.train import run
from experiments.sampling import load_objective_and_params
from gen_jax.objective import sample_options


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    wd = tmp_path_factory.mktemp("vq")
    state = run(vqvae_mnist.get_config("smoke"), str(wd), progress=False)
    assert int(state.step) == 2
    return str(wd)


def test_tokenizer_round_trip_shapes_and_prior_samples(tokenizer_dir):
    _, tok, state, _ = load_objective_and_params(tokenizer_dir)
    x = np.zeros((3, 8, 8, 1), np.float32)

    @jax.jit
    def round_trip(p, key):
        codes = tok.encode_tokens(p, x)
        return codes, tok.decode_tokens(p, codes), tok.sample(p, key, 2)

    codes, decoded, prior = round_trip(state.ema_params, jax.random.PRNGKey(0))
    assert codes.shape == (3, 4, 4) and codes.dtype == np.int32
    assert 0 <= int(codes.min()) and int(codes.max()) < 16
    assert decoded.shape == (3, 8, 8, 1) and prior.shape == (2, 8, 8, 1)
    with pytest.raises(TypeError, match="'temperature'"):
        tok.sample(state.ema_params, jax.random.PRNGKey(0), 2, temperature=1.0)
    assert sample_options(tok) == set()


@pytest.mark.parametrize("config, family", [(ar_mnist, ar_family), (maskgit_mnist, maskgit_family)],
                         ids=["ar", "maskgit"])
def test_token_model_smoke_trains_and_samples(tokenizer_dir, tmp_path, config, family):
    c = config.get_config("smoke")
    c.objective.tokenizer_workdir = tokenizer_dir
    state = run(c, str(tmp_path), progress=False)
    assert int(state.step) == 2 and (tmp_path / "samples.png").exists()  # experiments.main's final grid
    _, obj, restored, _ = load_objective_and_params(str(tmp_path))
    opts = family.sample_options(c)
    labels = np.array([3, 1, 4])
    x = jax.jit(lambda p, k: obj.sample(p, k, 3, labels=labels, **opts))(
        restored.ema_params, jax.random.PRNGKey(0))
    assert x.shape == (3, 8, 8, 1) and np.all(np.abs(np.asarray(x)) <= 1.0)
    with pytest.raises(TypeError, match="'eta'"):
        obj.sample(restored.ema_params, jax.random.PRNGKey(0), 3, eta=0.0)
    # the protocol's view of its options (what experiments.main and experiments.sample pass)
    assert set(opts) | {"labels"} == sample_options(obj)


def test_token_model_config_errors_name_the_field(tmp_path):
    c = ar_mnist.get_config("smoke")
    c.objective.tokenizer_workdir = str(tmp_path / "missing")
    with pytest.raises(ValueError, match="objective.tokenizer_workdir"):
        build.validate(c)
    c = vqvae_mnist.get_config("smoke")
    c.objective.num_codes = 1
    with pytest.raises(ValueError, match="objective.num_codes"):
        build.validate(c)


@pytest.fixture(scope="module")
def cifar_tokenizer_dir(tmp_path_factory, shared_data):
    if not (shared_data / "cifar10_jpeg").is_dir():
        pytest.fail(f"CIFAR-10 not found under {shared_data}")
    c = vqvae_mnist.get_config("cifar10_smoke")
    c.data.dir = str(shared_data)
    wd = tmp_path_factory.mktemp("vq_cifar10")
    assert int(run(c, str(wd), progress=False).step) == 2
    return str(wd)


@pytest.mark.parametrize("config, family", [(ar_mnist, ar_family), (maskgit_mnist, maskgit_family)],
                         ids=["ar", "maskgit"])
def test_cifar10_token_model_smoke_trains_and_samples(cifar_tokenizer_dir, shared_data, tmp_path, config, family):
    c = config.get_config("cifar10_smoke")
    c.data.dir = str(shared_data)
    c.objective.tokenizer_workdir = cifar_tokenizer_dir
    assert int(run(c, str(tmp_path), progress=False).step) == 2
    _, obj, restored, _ = load_objective_and_params(str(tmp_path))
    assert obj.model.seq_len == 64 and obj.vqvae.token_shape == (8, 8)  # 32x32 -> an 8x8 grid
    x = jax.jit(lambda p, k: obj.sample(p, k, 3, labels=np.array([3, 1, 4]), **family.sample_options(c)))(
        restored.ema_params, jax.random.PRNGKey(0))
    assert x.shape == (3, 32, 32, 3) and np.all(np.abs(np.asarray(x)) <= 1.0)
