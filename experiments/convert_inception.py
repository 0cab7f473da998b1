"""Convert pytorch-fid's Inception weights (.pth) into the msgpack params that load_inception reads.

Download the file yourself (gen_jax never fetches weights), then, with PyTorch installed
(any CPU build; it is needed for this step only):

python -m experiments.convert_inception \
    --torch_weights=pt_inception-2015-12-05-6726825d.pth --out=inception_fid.msgpack
"""

from __future__ import annotations

import os
import sys

import flax.serialization
from absl import app, flags

from gen_jax.metrics.inception import FID_WEIGHTS_URL, convert_torch_state_dict

_TORCH_WEIGHTS = None
_OUT = None


def read_torch_state_dict(path: str) -> dict:
    """{name: np.ndarray} from a torch state-dict file; clear errors for a missing file,
    a missing torch, or a file torch cannot read."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--torch_weights: no file at {path!r}; download it from {FID_WEIGHTS_URL}")
    try:
        import torch  # only this script needs torch, and only to unpickle the .pth file
    except ImportError as e:
        raise ImportError("reading a .pth file needs PyTorch, which gen_jax does not depend on: "
                          "pip install torch (a CPU build is enough)") from e
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, pickle errors, ...: all mean the same to the user
        detail = str(e).strip().split(". ")[0][:200]  # torch's first sentence; the rest is advice
        raise ValueError(f"--torch_weights: torch.load could not read {path!r} ({type(e).__name__}: {detail}); "
                         f"is the download complete? Expected {FID_WEIGHTS_URL}") from e
    if not isinstance(state_dict, dict) or not all(torch.is_tensor(v) for v in state_dict.values()):
        raise ValueError(f"--torch_weights: {path!r} holds a {type(state_dict).__name__}, "
                         "expected a state dict {name: tensor}")
    return {name: v.detach().cpu().numpy() for name, v in state_dict.items()}


def convert(torch_weights: str, out: str) -> str:
    """Read the .pth file, convert it, write msgpack params to out; returns out."""
    params = convert_torch_state_dict(read_torch_state_dict(torch_weights))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(flax.serialization.msgpack_serialize(params))
    return out


def main(argv):
    del argv
    if not _TORCH_WEIGHTS.value:
        raise app.UsageError(f"--torch_weights is required (download it from {FID_WEIGHTS_URL})")
    try:
        out = convert(_TORCH_WEIGHTS.value, _OUT.value)
    except (FileNotFoundError, ImportError, ValueError) as e:
        sys.exit(f"convert_inception: {e}")
    print(f"wrote {out}")


def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _TORCH_WEIGHTS, _OUT
    _TORCH_WEIGHTS = flags.DEFINE_string("torch_weights", None,
                                         "pytorch-fid's pt_inception-2015-12-05-6726825d.pth.")
    _OUT = flags.DEFINE_string("out", "inception_fid.msgpack", "Where to write the Flax params (msgpack).")


if __name__ == "__main__":
    define_flags()
    app.run(main)
