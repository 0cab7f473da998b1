"""Write a prepared dataset (uint8 ArrayRecord shards + gen_jax_data.json) for streamed training.

From a folder of images (recursive; class = first-level sub-folder when every image is in one):
python -m experiments.prepare_data --folder=~/photos --resolution=64 --out=prepared/photos64
From a registered dataset (the formats of ../shared/data, digits, or tfds:NAME where installed):
python -m experiments.prepare_data --source=cifar10 --data_dir=../shared/data --out=prepared/cifar10

Then train on it: python -m experiments.main --config=... --config.data.name=folder:prepared/photos64
"""

from __future__ import annotations

import os
import sys
import time

from absl import app, flags

_FOLDER = flags.DEFINE_string("folder", None, "A folder of images to prepare (recursive).")
_SOURCE = flags.DEFINE_string("source", None, "A registered dataset name (gen_jax.data.DATASETS) "
                              "or tfds:NAME, instead of --folder.")
_OUT = flags.DEFINE_string("out", None, "Output directory (must not exist or be empty, unless --overwrite).")
_RESOLUTION = flags.DEFINE_string("resolution", None, "Side of the square images: shorter side "
                                  "resized to it, then centre-cropped (required with --folder; with "
                                  "--source, resizes when given).")
_CHANNELS = flags.DEFINE_integer("channels", 3, "1 (grey) or 3 (RGB) channels for --folder.")
_LABELS = flags.DEFINE_enum("labels", "auto", ["auto", "none"], "--folder: 'auto' takes sub-folder "
                            "names as classes when every image is in a sub-folder; 'none' ignores them.")
_STRICT = flags.DEFINE_bool("strict", False, "--folder: stop at the first unreadable file instead "
                            "of skipping and listing it.")
_SPLIT = flags.DEFINE_string("split", "train", "--source: split to prepare.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "--source: data directory (else $GEN_JAX_DATA_DIR).")
_SHARDS = flags.DEFINE_integer("shards", 1, "Number of ArrayRecord shard files.", lower_bound=1)
_NAME = flags.DEFINE_string("name", None, "Dataset name in the metadata (default: the source's "
                            "name or the folder's base name; a registered name such as 'mnist' "
                            "also picks that dataset's feature network for evaluation).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a non-empty --out (only once the new "
                               "set is completely written).")


def parse_resolution(value: str | None, required: bool) -> int | None:
    """--resolution as a positive int (None when absent and not required), else ValueError."""
    if value is None or value == "":
        if required:
            raise ValueError("--resolution: required with --folder (a positive int, e.g. 64)")
        return None
    try:
        r = int(value)
    except ValueError:
        r = None
    if r is None or r < 1 or str(r) != value.strip():
        raise ValueError(f"--resolution: expected a positive int, got {value!r}")
    return r


def prepare_source(name: str, out: str, *, split: str = "train", data_dir: str | None = None,
                   resolution: int | None = None, num_shards: int = 1, meta_name: str | None = None,
                   overwrite: bool = False):
    """Prepare a registered dataset: its float images in [-1, 1] back to uint8 (exact for the
    uint8 sources: MNIST, Fashion-MNIST, CIFAR-10, emoji; digits' 17 levels are quantised), resized
    and centre-cropped when `resolution` differs."""
    import numpy as np
    from PIL import Image

    from gen_jax.data import load_dataset
    from gen_jax.data.prepared import fit, write_prepared

    ds = load_dataset(name, data_dir, split)
    x = np.clip(np.round((np.asarray(ds.images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    shape = x.shape[1:]
    if resolution is not None and shape[:2] != (resolution, resolution):
        c = shape[2]
        src = x
        x = (fit(Image.fromarray(im if c == 3 else im[..., 0]), resolution) for im in src)
        shape = (resolution, resolution, c)
    return write_prepared(out, x, shape, name=meta_name or ds.name, labels=ds.labels,
                          class_names=ds.class_names, num_shards=num_shards, count=len(ds.images),
                          source=f"{ds.name}:{split}", overwrite=overwrite)


def main(argv):
    del argv
    from gen_jax.data.prepared import prepare_folder

    t0 = time.time()
    try:
        if bool(_FOLDER.value) == bool(_SOURCE.value):
            raise ValueError("pass exactly one of --folder=PATH or --source=NAME")
        if not _OUT.value:
            raise ValueError("--out: required (the directory to write)")
        res = parse_resolution(_RESOLUTION.value, required=bool(_FOLDER.value))
        if _FOLDER.value:
            meta = prepare_folder(os.path.expanduser(_FOLDER.value), _OUT.value, res,
                                  channels=_CHANNELS.value, labels=_LABELS.value, strict=_STRICT.value,
                                  num_shards=_SHARDS.value, name=_NAME.value, overwrite=_OVERWRITE.value)
        else:
            meta = prepare_source(_SOURCE.value, _OUT.value, split=_SPLIT.value, data_dir=_DATA_DIR.value,
                                  resolution=res, num_shards=_SHARDS.value, meta_name=_NAME.value,
                                  overwrite=_OVERWRITE.value)
    except (ValueError, FileNotFoundError, FileExistsError, RuntimeError) as e:
        sys.exit(f"prepare_data: {e}")
    classes = f", {meta.num_classes} classes" if meta.labels else ", unlabelled"
    skipped = f", {len(meta.skipped)} unreadable files skipped" if meta.skipped else ""
    print(f"wrote {meta.count} images {meta.shape}{classes}{skipped} to {_OUT.value} in "
          f"{len(meta.shards)} shard(s) ({time.time() - t0:.1f} s); "
          f"train with --config.data.name=folder:{_OUT.value}")


if __name__ == "__main__":
    app.run(main)
