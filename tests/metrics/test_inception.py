"""FID InceptionV3: converter names and layouts, bilinear resize, and agreement with pytorch-fid.

Weights are random (no download): a synthetic state dict with pytorch-fid's names and shapes,
written out below from torchvision's Inception3 independently of gen_jax. With torch and
pytorch_fid importable, the same state dict is loaded into pytorch-fid's InceptionV3 and the
2048-d features are compared. Every full-network forward uses the same params and input shape,
so the suite compiles the network once.
"""

import sys

import numpy as np
import pytest

from gen_jax.metrics import inception

NUM_CLASSES = 1008
IMAGES_SHAPE = (2, 64, 64, 3)  # resized to 299×299 inside the network function


def _torch_conv_shapes() -> dict[str, tuple[int, int, int, int]]:
    """BasicConv2d name -> conv weight shape (out, in, kh, kw) of pytorch-fid's FIDInceptionV3."""
    convs = {}

    def conv(name, c_in, c_out, k):
        kh, kw = (k, k) if isinstance(k, int) else k
        convs[name] = (c_out, c_in, kh, kw)

    for name, c_in, c_out, k in [("Conv2d_1a_3x3", 3, 32, 3), ("Conv2d_2a_3x3", 32, 32, 3),
                                 ("Conv2d_2b_3x3", 32, 64, 3), ("Conv2d_3b_1x1", 64, 80, 1),
                                 ("Conv2d_4a_3x3", 80, 192, 3)]:
        conv(name, c_in, c_out, k)
    for m, c_in, pool_features in [("Mixed_5b", 192, 32), ("Mixed_5c", 256, 64), ("Mixed_5d", 288, 64)]:
        conv(f"{m}.branch1x1", c_in, 64, 1)
        conv(f"{m}.branch5x5_1", c_in, 48, 1)
        conv(f"{m}.branch5x5_2", 48, 64, 5)
        conv(f"{m}.branch3x3dbl_1", c_in, 64, 1)
        conv(f"{m}.branch3x3dbl_2", 64, 96, 3)
        conv(f"{m}.branch3x3dbl_3", 96, 96, 3)
        conv(f"{m}.branch_pool", c_in, pool_features, 1)
    conv("Mixed_6a.branch3x3", 288, 384, 3)
    conv("Mixed_6a.branch3x3dbl_1", 288, 64, 1)
    conv("Mixed_6a.branch3x3dbl_2", 64, 96, 3)
    conv("Mixed_6a.branch3x3dbl_3", 96, 96, 3)
    for m, c7 in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)]:
        conv(f"{m}.branch1x1", 768, 192, 1)
        conv(f"{m}.branch7x7_1", 768, c7, 1)
        conv(f"{m}.branch7x7_2", c7, c7, (1, 7))
        conv(f"{m}.branch7x7_3", c7, 192, (7, 1))
        conv(f"{m}.branch7x7dbl_1", 768, c7, 1)
        conv(f"{m}.branch7x7dbl_2", c7, c7, (7, 1))
        conv(f"{m}.branch7x7dbl_3", c7, c7, (1, 7))
        conv(f"{m}.branch7x7dbl_4", c7, c7, (7, 1))
        conv(f"{m}.branch7x7dbl_5", c7, 192, (1, 7))
        conv(f"{m}.branch_pool", 768, 192, 1)
    conv("Mixed_7a.branch3x3_1", 768, 192, 1)
    conv("Mixed_7a.branch3x3_2", 192, 320, 3)
    conv("Mixed_7a.branch7x7x3_1", 768, 192, 1)
    conv("Mixed_7a.branch7x7x3_2", 192, 192, (1, 7))
    conv("Mixed_7a.branch7x7x3_3", 192, 192, (7, 1))
    conv("Mixed_7a.branch7x7x3_4", 192, 192, 3)
    for m, c_in in [("Mixed_7b", 1280), ("Mixed_7c", 2048)]:
        conv(f"{m}.branch1x1", c_in, 320, 1)
        conv(f"{m}.branch3x3_1", c_in, 384, 1)
        conv(f"{m}.branch3x3_2a", 384, 384, (1, 3))
        conv(f"{m}.branch3x3_2b", 384, 384, (3, 1))
        conv(f"{m}.branch3x3dbl_1", c_in, 448, 1)
        conv(f"{m}.branch3x3dbl_2", 448, 384, 3)
        conv(f"{m}.branch3x3dbl_3a", 384, 384, (1, 3))
        conv(f"{m}.branch3x3dbl_3b", 384, 384, (3, 1))
        conv(f"{m}.branch_pool", c_in, 192, 1)
    return convs


def _synthetic_state_dict(seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights under pytorch-fid's state-dict names. He-scaled convs and BN statistics
    near (0, 1) keep activations O(1) through the 47-layer-deep path, so a relative comparison of
    the features tests the whole network rather than a few saturated channels."""
    rng = np.random.default_rng(seed)
    sd = {}
    for name, (c_out, c_in, kh, kw) in _torch_conv_shapes().items():
        sd[f"{name}.conv.weight"] = (rng.normal(size=(c_out, c_in, kh, kw))
                                     * np.sqrt(2.0 / (c_in * kh * kw))).astype(np.float32)
        sd[f"{name}.bn.weight"] = rng.uniform(0.8, 1.2, c_out).astype(np.float32)
        sd[f"{name}.bn.bias"] = rng.normal(0.0, 0.1, c_out).astype(np.float32)
        sd[f"{name}.bn.running_mean"] = rng.normal(0.0, 0.1, c_out).astype(np.float32)
        sd[f"{name}.bn.running_var"] = rng.uniform(0.8, 1.5, c_out).astype(np.float32)
        sd[f"{name}.bn.num_batches_tracked"] = np.array(0, np.int64)
    sd["fc.weight"] = (rng.normal(size=(NUM_CLASSES, 2048)) / np.sqrt(2048)).astype(np.float32)
    sd["fc.bias"] = rng.normal(0.0, 0.1, NUM_CLASSES).astype(np.float32)
    return sd


@pytest.fixture(scope="module")
def state_dict():
    return _synthetic_state_dict()


@pytest.fixture(scope="module")
def weights_file(state_dict, tmp_path_factory):
    """The synthetic state dict converted and written as convert_inception.py writes it."""
    import flax.serialization

    path = tmp_path_factory.mktemp("inception") / "inception_fid.msgpack"
    path.write_bytes(flax.serialization.msgpack_serialize(inception.convert_torch_state_dict(state_dict)))
    return str(path)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).integers(0, 256, size=IMAGES_SHAPE, dtype=np.uint8)


# --- converter ------------------------------------------------------------------------------

def test_converter_maps_every_name_and_transposes_layouts(state_dict):
    params = inception.convert_torch_state_dict(state_dict)
    inception.check_params(params)  # every InceptionV3 param present with its shape
    n_params = sum(v.size for k, v in state_dict.items() if not k.endswith("num_batches_tracked"))
    assert n_params == 23_885_392  # pytorch-fid's FIDInceptionV3 (1008 classes, no aux head)
    # A (1, 7) kernel tells kh from kw: OIHW w[o, i, 0, j] -> HWIO k[0, j, i, o].
    w = state_dict["Mixed_6b.branch7x7_2.conv.weight"]
    k = params["Mixed_6b"]["branch7x7_2"]["conv"]["kernel"]
    assert k.shape == (1, 7, 128, 128)
    np.testing.assert_array_equal(k, w.transpose(2, 3, 1, 0))
    bn = params["Mixed_7c"]["branch_pool"]["bn"]
    np.testing.assert_array_equal(bn["mean"], state_dict["Mixed_7c.branch_pool.bn.running_mean"])
    np.testing.assert_array_equal(bn["var"], state_dict["Mixed_7c.branch_pool.bn.running_var"])
    np.testing.assert_array_equal(bn["scale"], state_dict["Mixed_7c.branch_pool.bn.weight"])
    np.testing.assert_array_equal(params["fc"]["kernel"], state_dict["fc.weight"].T)
    np.testing.assert_array_equal(params["fc"]["bias"], state_dict["fc.bias"])


@pytest.mark.parametrize("change, named", [
    (lambda sd: sd.pop("Mixed_5c.branch_pool.bn.running_var"), "Mixed_5c.branch_pool.bn.running_var"),
    (lambda sd: sd.update({"AuxLogits.fc.weight": np.zeros((1000, 768))}), "AuxLogits.fc.weight"),
    (lambda sd: sd.update({"fc.weight": np.zeros((1000, 2048))}), "fc.weight"),
])
def test_converter_names_the_entry_it_rejects(state_dict, change, named):
    sd = dict(state_dict)
    change(sd)
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        inception.convert_torch_state_dict(sd)


# --- input handling -------------------------------------------------------------------------

def _bilinear_reference(x, out_h, out_w):
    """NumPy bilinear resize of x [H, W, C] with torch's align_corners=False rule:
    src = max((dst + 0.5)·in/out − 0.5, 0), neighbours clamped to the last pixel."""
    def weights(n_in, n_out):
        src = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        lam = src - i0
        m = np.zeros((n_out, n_in))
        np.add.at(m, (np.arange(n_out), i0), 1 - lam)
        np.add.at(m, (np.arange(n_out), i1), lam)
        return m
    return np.einsum("ph,qw,hwc->pqc", weights(x.shape[0], out_h), weights(x.shape[1], out_w), x)


@pytest.mark.parametrize("in_hw, out_hw", [((5, 7), (9, 4)), ((13, 11), (4, 6)), ((6, 6), (6, 6))])
def test_resize_matches_align_corners_false_bilinear(in_hw, out_hw):
    """Up- and downsampling by non-integer factors; downsampling must not antialias."""
    x = np.random.default_rng(2).uniform(size=(2, *in_hw, 3)).astype(np.float32)
    got = np.asarray(inception.resize_bilinear(x, out_hw))
    want = np.stack([_bilinear_reference(xi, *out_hw) for xi in x])
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_preprocess_scales_uint8_and_float_alike(images):
    x_u8 = np.asarray(inception.preprocess(images))
    x_f = np.asarray(inception.preprocess(images.astype(np.float32) / 255))
    assert x_u8.shape == (2, 299, 299, 3)
    np.testing.assert_allclose(x_u8, x_f, atol=1e-6)
    assert x_u8.min() >= -1 and x_u8.max() <= 1


# --- network and loading --------------------------------------------------------------------

def test_load_inception_features_and_logits(weights_file, images):
    pool3 = np.asarray(inception.load_inception(weights_file)(images))
    logits = np.asarray(inception.load_inception(weights_file, output="logits")(images))
    assert pool3.shape == (2, 2048) and logits.shape == (2, NUM_CLASSES)
    assert np.all(np.isfinite(pool3)) and np.all(pool3 >= 0)  # mean of ReLU outputs
    assert np.count_nonzero(pool3) > 1000  # random weights keep most channels alive
    sd = inception.load_params(weights_file)
    np.testing.assert_allclose(logits, pool3 @ sd["fc"]["kernel"] + sd["fc"]["bias"], rtol=1e-4, atol=1e-4)


def test_load_inception_missing_file_says_how_to_get_it(tmp_path):
    path = str(tmp_path / "nope.msgpack")
    with pytest.raises(FileNotFoundError, match="nope.msgpack") as e:
        inception.load_inception(path)
    assert "convert_inception" in str(e.value) and "pt_inception-2015-12-05" in str(e.value)


def test_load_inception_rejects_corrupt_or_foreign_files(tmp_path):
    import flax.serialization

    bad = tmp_path / "bad.msgpack"
    bad.write_bytes(b"\xc1 not msgpack")
    with pytest.raises(ValueError, match="bad.msgpack"):
        inception.load_params(str(bad))
    other = tmp_path / "other.msgpack"
    other.write_bytes(flax.serialization.msgpack_serialize({"Dense_0": {"kernel": np.zeros((2, 2))}}))
    with pytest.raises(ValueError, match="other.msgpack.*missing parameter"):
        inception.load_params(str(other))


# --- experiments/convert_inception.py -------------------------------------------------------

def test_convert_script_errors_without_file_or_torch(tmp_path, monkeypatch):
    from experiments import convert_inception

    with pytest.raises(FileNotFoundError, match="missing.pth"):
        convert_inception.convert(str(tmp_path / "missing.pth"), str(tmp_path / "out.msgpack"))
    pth = tmp_path / "weights.pth"
    pth.write_bytes(b"anything")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match="pip install torch"):
        convert_inception.convert(str(pth), str(tmp_path / "out.msgpack"))


# --- against pytorch-fid (only where torch and pytorch_fid are installed) -------------------

@pytest.fixture(scope="module")
def torch_reference(state_dict):
    """pytorch-fid's InceptionV3([3], resize_input=True, normalize_input=True,
    use_fid_inception=True) holding the synthetic weights instead of the downloaded ones."""
    torch = pytest.importorskip("torch")
    pfi = pytest.importorskip("pytorch_fid.inception")
    with pytest.MonkeyPatch.context() as m:
        # fid_inception_v3() loads whatever this returns, strictly: names and shapes must match.
        m.setattr(pfi, "load_state_dict_from_url",
                  lambda *a, **k: {n: torch.from_numpy(np.asarray(v)) for n, v in state_dict.items()})
        model = pfi.InceptionV3([3], resize_input=True, normalize_input=True, use_fid_inception=True)
    return torch, model.eval()


def test_features_match_pytorch_fid(torch_reference, weights_file, images):
    torch, model = torch_reference
    with torch.no_grad():
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255  # as ToTensor() does
        want = model(x)[0][:, :, 0, 0].numpy()
    got = np.asarray(inception.load_inception(weights_file)(images))
    rel = np.max(np.abs(got - want)) / np.max(np.abs(want))
    print(f"max |jax - pytorch-fid| / max |pytorch-fid| = {rel:.2e} (feature scale {want.std():.3g})")
    assert rel < 1e-4
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * np.max(np.abs(want)))


def test_resize_matches_torch_interpolate_when_shrinking(torch_reference):
    torch, _ = torch_reference
    x = np.random.default_rng(3).uniform(size=(1, 331, 420, 3)).astype(np.float32)
    want = torch.nn.functional.interpolate(torch.from_numpy(x).permute(0, 3, 1, 2), size=(299, 299),
                                           mode="bilinear", align_corners=False)
    got = np.asarray(inception.preprocess(x))
    np.testing.assert_allclose(got, 2 * want.permute(0, 2, 3, 1).numpy() - 1, atol=1e-5)


def test_convert_script_round_trip(torch_reference, state_dict, tmp_path):
    torch, _ = torch_reference
    from experiments import convert_inception

    pth, out = tmp_path / "pt_inception.pth", tmp_path / "inception_fid.msgpack"
    torch.save({n: torch.from_numpy(np.asarray(v)) for n, v in state_dict.items()}, pth)
    convert_inception.convert(str(pth), str(out))
    params = inception.load_params(str(out))
    np.testing.assert_array_equal(params["Conv2d_1a_3x3"]["conv"]["kernel"],
                                  state_dict["Conv2d_1a_3x3.conv.weight"].transpose(2, 3, 1, 0))
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(pth.read_bytes()[:1000])
    with pytest.raises(ValueError, match="corrupt.pth"):
        convert_inception.convert(str(corrupt), str(out))
