"""InceptionV3 of FID (Heusel et al. 2017) in Flax linen: 2048-d pool3 features and 1008-way logits.

The network is pytorch-fid's FIDInceptionV3 (mseitzer/pytorch-fid), a port of TF's
2015-12-05 Inception graph that FID scores are quoted against. It is torchvision's Inception3
(Szegedy et al. 2016) with the changes of that graph: average pools in the Mixed blocks exclude
the padding from their count (TF 'SAME'), and the last block (Mixed_7c) max-pools its pool branch.
Inputs follow pytorch-fid: [0, 1] (or uint8) images, bilinear resize to 299×299 with
align_corners=False and no antialiasing, then scaled to [-1, 1].

Weights: `experiments/convert_inception.py` turns pytorch-fid's .pth file into msgpack;
`load_inception(path)` reads it. Parameter names mirror the torch state dict
(`Mixed_5b.branch1x1.conv.weight` -> params['Mixed_5b']['branch1x1']['conv']['kernel']).
"""

from __future__ import annotations

import functools
import os
from typing import Callable

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util
from jax import lax

FID_WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                   "pt_inception-2015-12-05-6726825d.pth")
INPUT_SIZE = 299
BN_EPS = 1e-3  # torchvision's BasicConv2d
OUTPUTS = ("pool3", "logits")

HOW_TO_GET_WEIGHTS = (
    f"download pytorch-fid's weights from {FID_WEIGHTS_URL} and convert them with\n"
    "  python -m experiments.convert_inception "
    "--torch_weights=pt_inception-2015-12-05-6726825d.pth --out=inception_fid.msgpack\n"
    "(needs PyTorch for reading the .pth file only)")


# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


class FrozenBatchNorm(nn.Module):
    """BatchNorm in eval mode with its running statistics as params (scale, bias, mean, var: [C]).

    Folded into one affine map: y = x·s + (β − μ·s), s = γ / √(σ² + ε).
    """
    epsilon: float = BN_EPS

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (c,))
        bias = self.param("bias", nn.initializers.zeros, (c,))
        mean = self.param("mean", nn.initializers.zeros, (c,))
        var = self.param("var", nn.initializers.ones, (c,))
        s = scale * lax.rsqrt(var + self.epsilon)
        return x * s + (bias - mean * s)


class BasicConv2d(nn.Module):
    """Conv (no bias) -> frozen BN -> ReLU, as torchvision's BasicConv2d; padding is symmetric."""
    features: int
    kernel_size: int | tuple[int, int]
    strides: int = 1
    padding: int | tuple[int, int] = 0

    @nn.compact
    def __call__(self, x):
        ph, pw = _pair(self.padding)
        x = nn.Conv(self.features, _pair(self.kernel_size), strides=self.strides,
                    padding=((ph, ph), (pw, pw)), use_bias=False, name="conv")(x)
        return nn.relu(FrozenBatchNorm(name="bn")(x))


def _avg_pool_3x3(x):
    # TF's 'SAME' average pool divides by the number of real pixels in the window.
    return nn.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool_3x3(x):
    return nn.max_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)))


def _max_pool_3x3_s2(x):
    return nn.max_pool(x, (3, 3), strides=(2, 2), padding="VALID")


class FIDInceptionA(nn.Module):
    """35×35 block (Mixed_5b..d): 64 + 64 + 96 + pool_features channels."""
    pool_features: int

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv2d(64, 1, name="branch1x1")(x)
        b5 = BasicConv2d(48, 1, name="branch5x5_1")(x)
        b5 = BasicConv2d(64, 5, padding=2, name="branch5x5_2")(b5)
        b3 = BasicConv2d(64, 1, name="branch3x3dbl_1")(x)
        b3 = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_2")(b3)
        b3 = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_3")(b3)
        bp = BasicConv2d(self.pool_features, 1, name="branch_pool")(_avg_pool_3x3(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17 (Mixed_6a): 384 + 96 + C_in channels."""

    @nn.compact
    def __call__(self, x):
        b3 = BasicConv2d(384, 3, strides=2, name="branch3x3")(x)
        bd = BasicConv2d(64, 1, name="branch3x3dbl_1")(x)
        bd = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_2")(bd)
        bd = BasicConv2d(96, 3, strides=2, name="branch3x3dbl_3")(bd)
        return jnp.concatenate([b3, bd, _max_pool_3x3_s2(x)], axis=-1)


class FIDInceptionC(nn.Module):
    """17×17 block with factorised 7×7 convolutions (Mixed_6b..e): 4 × 192 channels."""
    channels_7x7: int

    @nn.compact
    def __call__(self, x):
        c7 = self.channels_7x7
        b1 = BasicConv2d(192, 1, name="branch1x1")(x)
        b7 = BasicConv2d(c7, 1, name="branch7x7_1")(x)
        b7 = BasicConv2d(c7, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
        bd = BasicConv2d(c7, 1, name="branch7x7dbl_1")(x)
        bd = BasicConv2d(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
        bd = BasicConv2d(c7, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
        bd = BasicConv2d(c7, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
        bd = BasicConv2d(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
        bp = BasicConv2d(192, 1, name="branch_pool")(_avg_pool_3x3(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8 (Mixed_7a): 320 + 192 + C_in channels."""

    @nn.compact
    def __call__(self, x):
        b3 = BasicConv2d(192, 1, name="branch3x3_1")(x)
        b3 = BasicConv2d(320, 3, strides=2, name="branch3x3_2")(b3)
        b7 = BasicConv2d(192, 1, name="branch7x7x3_1")(x)
        b7 = BasicConv2d(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
        b7 = BasicConv2d(192, 3, strides=2, name="branch7x7x3_4")(b7)
        return jnp.concatenate([b3, b7, _max_pool_3x3_s2(x)], axis=-1)


class FIDInceptionE(nn.Module):
    """8×8 block (Mixed_7b: avg pool = FIDInceptionE_1; Mixed_7c: max pool = FIDInceptionE_2)."""
    max_pool: bool = False

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv2d(320, 1, name="branch1x1")(x)
        b3 = BasicConv2d(384, 1, name="branch3x3_1")(x)
        b3 = jnp.concatenate([BasicConv2d(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
                              BasicConv2d(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3)], -1)
        bd = BasicConv2d(448, 1, name="branch3x3dbl_1")(x)
        bd = BasicConv2d(384, 3, padding=1, name="branch3x3dbl_2")(bd)
        bd = jnp.concatenate([BasicConv2d(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
                              BasicConv2d(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd)], -1)
        # The TF graph max-pools in its last block (pytorch-fid's FIDInceptionE_2).
        pooled = _max_pool_3x3(x) if self.max_pool else _avg_pool_3x3(x)
        bp = BasicConv2d(192, 1, name="branch_pool")(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
    """FID InceptionV3. x: [B, H, W, 3] in [-1, 1], H = W = 299 for FID (any ≥ 75 runs)
    -> (pool3 [B, 2048], logits [B, num_classes])."""
    num_classes: int = 1008

    @nn.compact
    def __call__(self, x):
        x = BasicConv2d(32, 3, strides=2, name="Conv2d_1a_3x3")(x)     # 149
        x = BasicConv2d(32, 3, name="Conv2d_2a_3x3")(x)                # 147
        x = BasicConv2d(64, 3, padding=1, name="Conv2d_2b_3x3")(x)
        x = _max_pool_3x3_s2(x)                                        # 73
        x = BasicConv2d(80, 1, name="Conv2d_3b_1x1")(x)
        x = BasicConv2d(192, 3, name="Conv2d_4a_3x3")(x)               # 71
        x = _max_pool_3x3_s2(x)                                        # 35
        x = FIDInceptionA(32, name="Mixed_5b")(x)                      # 256
        x = FIDInceptionA(64, name="Mixed_5c")(x)                      # 288
        x = FIDInceptionA(64, name="Mixed_5d")(x)
        x = InceptionB(name="Mixed_6a")(x)                             # 17, 768
        x = FIDInceptionC(128, name="Mixed_6b")(x)
        x = FIDInceptionC(160, name="Mixed_6c")(x)
        x = FIDInceptionC(160, name="Mixed_6d")(x)
        x = FIDInceptionC(192, name="Mixed_6e")(x)
        x = InceptionD(name="Mixed_7a")(x)                             # 8, 1280
        x = FIDInceptionE(max_pool=False, name="Mixed_7b")(x)          # 2048
        x = FIDInceptionE(max_pool=True, name="Mixed_7c")(x)
        pool3 = jnp.mean(x, axis=(1, 2))
        logits = nn.Dense(self.num_classes, name="fc")(pool3)
        return pool3, logits


# ---------------------------------------------------------------------------------------------
# Input handling (pytorch-fid's resize_input=True, normalize_input=True)
# ---------------------------------------------------------------------------------------------

def resize_bilinear(x, size: tuple[int, int]):
    """x: [B, H, W, C] -> [B, *size, C], as torch's F.interpolate(mode='bilinear',
    align_corners=False): half-pixel centres, edge-clamped, and no antialiasing when shrinking."""
    return jax.image.resize(x, (x.shape[0], *size, x.shape[3]), "bilinear", antialias=False)


def preprocess(images):
    """images: [B, H, W, 3] uint8 in [0, 255] or float in [0, 1] -> [B, 299, 299, 3] float32 in [-1, 1]."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images [B, H, W, 3] (NHWC, RGB); got shape {images.shape}")
    x = images.astype(jnp.float32)
    if images.dtype == jnp.uint8:
        x = x / 255.0
    if x.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
        x = resize_bilinear(x, (INPUT_SIZE, INPUT_SIZE))
    return 2.0 * x - 1.0


@jax.jit
def inception_apply(params, images):
    """images: [B, H, W, 3] uint8 or [0, 1] float -> (pool3 [B, 2048], logits [B, 1008])."""
    return InceptionV3().apply({"params": params}, preprocess(images))


# ---------------------------------------------------------------------------------------------
# Weights: torch state dict -> params, msgpack file -> features function
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def param_shapes() -> dict[tuple[str, ...], tuple[int, ...]]:
    """Flattened params path -> shape of InceptionV3 (traced with eval_shape, nothing allocated)."""
    tree = jax.eval_shape(lambda: InceptionV3().init(
        jax.random.PRNGKey(0), jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 3))))["params"]
    return {path: tuple(v.shape) for path, v in traverse_util.flatten_dict(tree).items()}


_TORCH_LEAF = {"kernel": "weight", "scale": "weight", "bias": "bias",
               "mean": "running_mean", "var": "running_var"}


def _to_torch_layout(shape):
    """HWIO -> OIHW for convolutions, [in, out] -> [out, in] for the classifier."""
    if len(shape) == 4:
        return (shape[3], shape[2], shape[0], shape[1])
    return tuple(reversed(shape))


@functools.lru_cache(maxsize=None)
def _torch_names() -> dict[str, tuple[str, ...]]:
    """pytorch-fid state-dict name -> flattened params path."""
    return {".".join((*path[:-1], _TORCH_LEAF[path[-1]])): path for path in param_shapes()}


def convert_torch_state_dict(state_dict) -> dict:
    """pytorch-fid FIDInceptionV3 state dict {name: array} -> Flax params of InceptionV3.

    Conv weights go OIHW -> HWIO and fc.weight [out, in] -> kernel [in, out]; BN buffers
    `running_mean`/`running_var` become params `mean`/`var`; `num_batches_tracked` is dropped.
    Every parameter must be present with its shape: a missing, extra or misshapen entry raises
    ValueError naming it, since FID is only comparable with exactly these weights.
    """
    names, shapes = _torch_names(), param_shapes()
    flat, unexpected, misshapen = {}, [], []
    for name, value in state_dict.items():
        if name.endswith(".num_batches_tracked"):
            continue
        if name not in names:
            unexpected.append(name)
            continue
        path = names[name]
        w = np.asarray(value, dtype=np.float32)
        if w.shape != _to_torch_layout(shapes[path]):
            misshapen.append(f"{name}: expected {_to_torch_layout(shapes[path])}, found {w.shape}")
            continue
        flat[path] = w.transpose(2, 3, 1, 0) if w.ndim == 4 else (w.T if w.ndim == 2 else w)
    missing = sorted(n for n in names if n not in state_dict)
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {missing[:3]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})")
    if misshapen:
        problems.append(f"{len(misshapen)} with the wrong shape (e.g. {misshapen[:3]})")
    if problems:
        raise ValueError("state dict is not pytorch-fid's FIDInceptionV3 "
                         f"(pt_inception-2015-12-05): {'; '.join(problems)}")
    return traverse_util.unflatten_dict(flat)


def check_params(params, where: str = "params") -> None:
    """Raise ValueError naming the first path whose presence or shape differs from InceptionV3's."""
    flat = traverse_util.flatten_dict(params) if isinstance(params, dict) else None
    if not flat:
        raise ValueError(f"{where}: expected a nested dict of InceptionV3 params, found {type(params).__name__}")
    shapes = param_shapes()
    for path, shape in shapes.items():
        if path not in flat:
            raise ValueError(f"{where}: missing parameter {'/'.join(path)} {shape}")
        if tuple(np.shape(flat[path])) != shape:
            raise ValueError(f"{where}: {'/'.join(path)} expected shape {shape}, "
                             f"found {tuple(np.shape(flat[path]))}")
    extra = sorted("/".join(p) for p in flat if p not in shapes)
    if extra:
        raise ValueError(f"{where}: unexpected parameters {extra[:3]}")


def load_params(path: str) -> dict:
    """Read InceptionV3 params from a msgpack file written by experiments/convert_inception.py."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Inception weights not found at {path!r}: {HOW_TO_GET_WEIGHTS}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        params = flax.serialization.msgpack_restore(data)
    except Exception as e:  # msgpack raises several unrelated types on bad input
        raise ValueError(f"{path}: not a msgpack params file ({type(e).__name__}: {e}); "
                         f"re-create it: {HOW_TO_GET_WEIGHTS}") from e
    check_params(params, where=path)
    return params


def load_inception(path: str, output: str = "pool3") -> Callable[[jax.Array], jax.Array]:
    """Features function images [B, H, W, 3] (uint8, or float in [0, 1]) -> [B, 2048] pool3
    features (output='pool3', for FID/KID/PRDC) or [B, 1008] logits (output='logits', for IS).

    The params are placed on the default device once; the jitted network compiles once per input
    shape and dtype, shared by both outputs.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output: expected one of {OUTPUTS}, found {output!r}")
    params = jax.device_put(load_params(path))
    index = OUTPUTS.index(output)

    def features(images):
        return inception_apply(params, images)[index]

    return features
