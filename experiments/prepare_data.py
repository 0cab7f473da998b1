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

_FOLDER = None
_SOURCE = None
_OUT = None
_RESOLUTION = None
_CHANNELS = None
_LABELS = None
_STRICT = None
_SPLIT = None
_DATA_DIR = None
_SHARDS = None
_NAME = None
_OVERWRITE = None


def main(argv):
    del argv
    from gen_jax.data.prepared import parse_resolution, prepare_folder, prepare_source

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


def define_flags():
    """The command line's flags; defined only when run as a script, so that tests can import this
    module beside other commands that define flags of the same names."""
    global _FOLDER, _SOURCE, _OUT, _RESOLUTION, _CHANNELS, _LABELS, _STRICT, _SPLIT, _DATA_DIR, _SHARDS, _NAME, _OVERWRITE
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


if __name__ == "__main__":
    define_flags()
    app.run(main)
