"""Prepared datasets on disk: uint8 images in ArrayRecord shards plus a small metadata JSON.

A prepared directory holds
    gen_jax_data.json        {"format", "name", "shape": [H, W, C], "count", "num_classes",
                              "class_names", "shards": [{"file", "count"}], "labels",
                              "content_hash", "source", "skipped"}
    images-00000-of-0000K.array_record   one record per image: H·W·C raw uint8 bytes (HWC order)
    labels.npy               int32 [count] (only for labelled data)

Records are raw pixels (no codec): a read is one memcpy and the round trip is exact. The content
hash (sha256 over shape, records in order and labels) lets `verify` catch shards that disagree with
their metadata. Writing goes to a temporary sibling directory that is renamed into place at the
end, so a failed or interrupted prepare never leaves (or overwrites) a half-written dataset.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from typing import Iterable, Iterator

import numpy as np

META = "gen_jax_data.json"
FORMAT = "gen_jax.prepared/1"
LABELS = "labels.npy"
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


@dataclasses.dataclass(frozen=True)
class Meta:
    name: str
    shape: tuple[int, int, int]              # stored H, W, C
    count: int
    shards: tuple[tuple[str, int], ...]      # (file name, record count)
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    labels: bool = False
    content_hash: str = ""
    source: str = ""
    skipped: tuple[str, ...] = ()


def is_prepared(path: str) -> bool:
    return os.path.isfile(os.path.join(path, META))


def _hasher(shape) -> "hashlib._Hash":
    h = hashlib.sha256()
    h.update(json.dumps(list(shape)).encode())
    return h


def write_prepared(out_dir: str, images: Iterable[np.ndarray], shape: tuple[int, int, int], *,
                   name: str, labels: np.ndarray | None = None,
                   class_names: tuple[str, ...] | None = None, num_shards: int = 1,
                   count: int | None = None, source: str = "", skipped: tuple[str, ...] = (),
                   overwrite: bool = False) -> Meta:
    """Write uint8 images ([H, W, C] each, an iterable so a large set never sits in memory) to
    out_dir. Images are dealt to shards in contiguous runs of ceil(count / num_shards); `count`
    (an upper bound is enough; needed when images is a generator and num_shards > 1) sets that run.
    `labels` and `skipped` are read after the images are consumed, so a generator may fill them.
    Refuses an existing out_dir unless overwrite."""
    from array_record.python.array_record_module import ArrayRecordWriter

    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape: expected (H, W, C) positive ints, got {shape}")
    if num_shards < 1:
        raise ValueError(f"num_shards: expected an int >= 1, got {num_shards}")
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir) and os.listdir(out_dir) and not overwrite:
        raise FileExistsError(f"{out_dir}: exists and is not empty; choose another --out or pass "
                              f"--overwrite (the old contents are replaced only after a successful write)")
    if count is None:
        if not hasattr(images, "__len__"):
            if num_shards > 1:
                raise ValueError("count: needed to split a stream of images into shards")
        else:
            count = len(images)
    tmp = f"{out_dir}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    nbytes = int(np.prod(shape))
    h = _hasher(shape)
    per = -(-count // num_shards) if count else None
    files = [f"images-{i:05d}-of-{num_shards:05d}.array_record" for i in range(num_shards)]
    counts = [0] * num_shards
    try:
        writers = [ArrayRecordWriter(os.path.join(tmp, f), "group_size:1") for f in files]
        n = 0
        for x in images:
            x = np.asarray(x)
            if x.dtype != np.uint8 or x.shape != shape:
                raise ValueError(f"image {n}: expected uint8 {shape}, got {x.dtype}{x.shape}")
            rec = np.ascontiguousarray(x).tobytes()
            assert len(rec) == nbytes
            k = min(n // per, num_shards - 1) if per else 0
            writers[k].write(rec)
            counts[k] += 1
            h.update(rec)
            n += 1
        for w in writers:
            w.close()
        if n == 0:
            raise ValueError(f"{source or name}: no images to write"
                             + (f" (all {len(skipped)} files unreadable)" if skipped else ""))
        if labels is not None:
            labels = np.asarray(labels, np.int32)
            if labels.shape != (n,):
                raise ValueError(f"labels: expected shape ({n},), got {labels.shape}")
            np.save(os.path.join(tmp, LABELS), labels)
            h.update(labels.tobytes())
        meta = Meta(name=name, shape=shape, count=n, shards=tuple(zip(files, counts)),
                    num_classes=None if labels is None else (len(class_names) if class_names
                                                             else int(labels.max()) + 1),
                    class_names=tuple(class_names) if class_names else None,
                    labels=labels is not None, content_hash=h.hexdigest(), source=source,
                    skipped=tuple(skipped))
        with open(os.path.join(tmp, META), "w") as f:
            json.dump({"format": FORMAT, **_to_json(meta)}, f, indent=1)
        if os.path.exists(out_dir):  # overwrite: the old set goes only once the new one is complete
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _to_json(meta: Meta) -> dict:
    d = dataclasses.asdict(meta)
    d["shards"] = [{"file": f, "count": c} for f, c in meta.shards]
    return d


def read_meta(path: str) -> Meta:
    """The metadata of prepared directory `path`, checked against the files beside it (shard
    files present with the record counts and record size the metadata states, labels length)."""
    p = os.path.join(path, META)
    if not os.path.isfile(p):
        hint = (f"prepare it first: python -m experiments.prepare_data --folder={path} "
                f"--out=DIR --resolution=N" if os.path.isdir(path) else "no such directory")
        raise FileNotFoundError(f"{p}: not a prepared dataset ({hint})")
    try:
        with open(p) as f:
            d = json.load(f)
        if d.get("format") != FORMAT:
            raise ValueError(f"format is {d.get('format')!r}, expected {FORMAT!r}")
        meta = Meta(name=str(d["name"]), shape=tuple(int(s) for s in d["shape"]),
                    count=int(d["count"]),
                    shards=tuple((str(s["file"]), int(s["count"])) for s in d["shards"]),
                    num_classes=d.get("num_classes"),
                    class_names=tuple(d["class_names"]) if d.get("class_names") else None,
                    labels=bool(d.get("labels")), content_hash=str(d.get("content_hash", "")),
                    source=str(d.get("source", "")), skipped=tuple(d.get("skipped", ())))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{p}: bad metadata ({type(e).__name__}: {e})") from e
    if len(meta.shape) != 3 or sum(c for _, c in meta.shards) != meta.count:
        raise ValueError(f"{p}: shape {meta.shape} is not (H, W, C), or shard counts "
                         f"{[c for _, c in meta.shards]} do not sum to count {meta.count}")
    from array_record.python.array_record_module import ArrayRecordReader

    nbytes = int(np.prod(meta.shape))
    for f, c in meta.shards:
        sp = os.path.join(path, f)
        if not os.path.isfile(sp):
            raise FileNotFoundError(f"{sp}: shard listed in {p} is missing")
        r = ArrayRecordReader(sp)
        try:
            n = r.num_records()
            first = r.read([0])[0] if n else b""
        finally:
            r.close()
        if n != c:
            raise ValueError(f"{sp}: holds {n} records, {p} says {c}")
        if n and len(first) != nbytes:
            raise ValueError(f"{sp}: records are {len(first)} bytes, {p} says shape {meta.shape} "
                             f"({nbytes} bytes)")
    if meta.labels:
        lp = os.path.join(path, LABELS)
        if not os.path.isfile(lp):
            raise FileNotFoundError(f"{lp}: missing; {p} says the set is labelled")
    return meta


def shard_paths(path: str, meta: Meta) -> list[str]:
    return [os.path.join(path, f) for f, _ in meta.shards]


def read_labels(path: str, meta: Meta) -> np.ndarray | None:
    if not meta.labels:
        return None
    lp = os.path.join(path, LABELS)
    labels = np.load(lp, allow_pickle=False)
    if labels.shape != (meta.count,):
        raise ValueError(f"{lp}: shape {labels.shape}, {os.path.join(path, META)} says count "
                         f"{meta.count}")
    return labels.astype(np.int32)


def iter_records(path: str, meta: Meta, chunk: int = 1024) -> Iterator[bytes]:
    """Every record in order (sequential reads, for verification)."""
    from array_record.python.array_record_module import ArrayRecordReader

    for sp in shard_paths(path, meta):
        r = ArrayRecordReader(sp)
        try:
            n = r.num_records()
            for s in range(0, n, chunk):
                yield from r.read(list(range(s, min(n, s + chunk))))
        finally:
            r.close()


def verify(path: str) -> Meta:
    """read_meta plus a full pass recomputing the content hash; ValueError naming path on mismatch."""
    meta = read_meta(path)
    h = _hasher(meta.shape)
    for rec in iter_records(path, meta):
        h.update(rec)
    labels = read_labels(path, meta)
    if labels is not None:
        h.update(labels.tobytes())
    if h.hexdigest() != meta.content_hash:
        raise ValueError(f"{path}: content hash {h.hexdigest()[:16]}... does not match "
                         f"{META}'s {meta.content_hash[:16]}... (shards changed after preparation)")
    return meta


def read_all(path: str) -> tuple[np.ndarray, np.ndarray | None, Meta]:
    """(images uint8 [N, H, W, C], labels int32 [N] or None, meta): the whole set in memory."""
    meta = read_meta(path)
    images = np.frombuffer(b"".join(iter_records(path, meta)), np.uint8).reshape(meta.count, *meta.shape)
    return images, read_labels(path, meta), meta


# --- image folders ---------------------------------------------------------------------------------
def scan_folder(root: str) -> tuple[list[str], list[str] | None]:
    """(image paths sorted, class name per path or None). Recursive; a file counts as an image by
    its extension (IMAGE_EXTS). Classes are the first-level sub-folder names when every image sits
    in a sub-folder, else the set is unlabelled."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"--folder={root}: no such directory")
    paths = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        paths += [os.path.join(d, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTS)]
    if not paths:
        anything = any(files for _, _, files in os.walk(root))
        raise ValueError(f"--folder={root}: " + ("no image files (expected extensions "
                                                 f"{', '.join(IMAGE_EXTS)})" if anything else "empty folder"))
    rel = [os.path.relpath(p, root) for p in paths]
    if all(os.sep in r for r in rel):
        return paths, [r.split(os.sep, 1)[0] for r in rel]
    return paths, None


def load_image(path: str, resolution: int, channels: int = 3, background: int = 255) -> np.ndarray:
    """Decode with Pillow, composite transparency on `background`, resize the shorter side to
    `resolution` (bicubic; no resampling when it already fits) and centre-crop -> uint8
    [resolution, resolution, channels]."""
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        if img.mode in ("RGBA", "LA", "P") or "transparency" in img.info:
            img = img.convert("RGBA")
            bg = Image.new("RGBA", img.size, (background,) * 3 + (255,))
            img = Image.alpha_composite(bg, img)
        img = img.convert("RGB" if channels == 3 else "L")
    return fit(img, resolution)


def fit(img, resolution: int) -> np.ndarray:
    """PIL image -> uint8 [resolution, resolution, C]: shorter side resized to `resolution`
    (bicubic; untouched when it already is) then the central square."""
    from PIL import Image

    w, h = img.size
    if min(w, h) != resolution:
        s = resolution / min(w, h)
        img = img.resize((max(resolution, round(w * s)), max(resolution, round(h * s))),
                         Image.Resampling.BICUBIC)
        w, h = img.size
    left, top = (w - resolution) // 2, (h - resolution) // 2
    img = img.crop((left, top, left + resolution, top + resolution))
    x = np.asarray(img, np.uint8)
    return x[..., None] if x.ndim == 2 else x


def prepare_folder(folder: str, out_dir: str, resolution: int, *, channels: int = 3,
                   labels: str = "auto", strict: bool = False, num_shards: int = 1,
                   name: str | None = None, overwrite: bool = False, log=print) -> Meta:
    """Prepare an image folder (see scan_folder) at resolution x resolution. Unreadable files are
    skipped, counted and listed in the metadata ("skipped"), or raise with strict."""
    from PIL import UnidentifiedImageError

    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise ValueError(f"--resolution: expected a positive int, got {resolution!r}")
    if channels not in (1, 3):
        raise ValueError(f"--channels: expected 1 or 3, got {channels!r}")
    if labels not in ("auto", "none"):
        raise ValueError(f"--labels: expected 'auto' or 'none', got {labels!r}")
    paths, classes = scan_folder(folder)
    if labels == "none":
        classes = None
    class_names = tuple(sorted(set(classes))) if classes else None
    index = {c: i for i, c in enumerate(class_names or ())}
    kept_labels: list[int] = []
    skipped: list[str] = []

    def images():
        for i, p in enumerate(paths):
            try:
                x = load_image(p, resolution, channels)
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
                if strict:
                    raise ValueError(f"{p}: unreadable image ({type(e).__name__}: {e}); "
                                     f"without --strict it would be skipped") from e
                skipped.append(os.path.relpath(p, folder))
                continue
            if classes:
                kept_labels.append(index[classes[i]])
            yield x

    meta = write_prepared(out_dir, images(), (resolution, resolution, channels),
                          name=name or os.path.basename(os.path.normpath(folder)),
                          labels=kept_labels if classes else None, class_names=class_names,
                          num_shards=num_shards, count=len(paths), source=os.path.abspath(folder),
                          skipped=skipped, overwrite=overwrite)
    if skipped:
        log(f"{folder}: skipped {len(skipped)} unreadable file(s): {', '.join(skipped[:10])}"
            + (" ..." if len(skipped) > 10 else "") + f" (all listed in {os.path.join(out_dir, META)})")
    return meta


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
    from PIL import Image

    from gen_jax.data import load_dataset

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
