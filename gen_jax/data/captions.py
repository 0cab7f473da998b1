"""Captions that come with the data, for text-to-image training (one string per image).

cifar10: the class name in photo templates ("a photo of a cat", "a small cat", ...; CLIP's
zero-shot prompt style, Radford et al. 2021); emoji: the Unicode names of the codepoints
(unicodedata.name: "red apple", "grinning face", skin-tone modifiers as "... dark skin tone",
regional-indicator pairs as "flag u s"); any other labelled dataset: its class names in a few
generic templates. The template of image i is fixed by (seed, i), so captions are deterministic.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

import numpy as np

CIFAR10_TEMPLATES = ("a photo of a {}", "a small {}", "a blurry photo of a {}", "a picture of the {}",
                     "a {}", "a low resolution photo of a {}", "a cropped photo of the {}",
                     "a close up photo of a {}")
GENERIC_TEMPLATES = ("a {}", "an image of a {}", "a picture of a {}")

# Fitzpatrick modifiers U+1F3FB..U+1F3FF, in the words of the Unicode emoji names (CLDR).
_SKIN_TONES = {0x1F3FB: "light skin tone", 0x1F3FC: "medium light skin tone",
               0x1F3FD: "medium skin tone", 0x1F3FE: "medium dark skin tone", 0x1F3FF: "dark skin tone"}
# joiners and presentation selectors carry no words
_SILENT = {0x200D, 0xFE0E, 0xFE0F}


def emoji_caption(codepoints: str) -> str:
    """The caption of an emoji given as hex codepoints joined by '-' ("1f34e" -> "red apple")."""
    words, letters = [], []
    for part in codepoints.split("-"):
        cp = int(part, 16)
        if 0x1F1E6 <= cp <= 0x1F1FF:  # regional indicators: a flag's country code
            letters.append(chr(ord("a") + cp - 0x1F1E6))
            continue
        if letters:
            words.append("flag " + " ".join(letters))
            letters = []
        if cp in _SILENT:
            continue
        if cp in _SKIN_TONES:
            words.append(_SKIN_TONES[cp])
        elif cp == 0x20E3:  # "combining enclosing keycap"
            words.append("keycap")
        elif 0xE0020 <= cp <= 0xE007F:  # tag characters (subdivision flags: "gbeng")
            continue
        else:
            words.append(unicodedata.name(chr(cp), "emoji").lower())
    if letters:
        words.append("flag " + " ".join(letters))
    if codepoints.lower().startswith("1f3f4-e00"):  # black flag + tags: a subdivision flag
        words = ["flag " + "".join(chr(int(p, 16) - 0xE0000) for p in codepoints.split("-")[1:-1])]
    return " ".join(words)


def class_captions(labels: np.ndarray, class_names: Sequence[str], templates: Sequence[str],
                   seed: int = 0) -> list[str]:
    """Caption i = templates[k_i].format(class_names[labels[i]]), k_i uniform from (seed, i)."""
    k = np.random.default_rng(seed).integers(len(templates), size=len(labels))
    return [templates[j].format(class_names[y]) for j, y in zip(k, np.asarray(labels))]


def emoji_codepoints(data_dir: str | None, split: str = "train") -> np.ndarray:
    """The codepoint strings [N] of the emoji dataset, in registry order (test: every 10th)."""
    from gen_jax.data.registry import _check_split, _find

    _check_split("emoji", split)
    (path,) = _find("emoji", data_dir, "noto_emoji", ["noto_emoji64.npz"])
    with np.load(path, allow_pickle=False) as z:
        if "codepoints" not in z:
            raise ValueError(f"{path}: no 'codepoints' array (needed for emoji captions)")
        cps = z["codepoints"]
    return cps if split == "train" else cps[::10]


def dataset_captions(ds, data_dir: str | None = None, split: str = "train", seed: int = 0) -> list[str]:
    """One caption per image of ds (an ImageDataset loaded from data_dir/split)."""
    if ds.name in ("emoji", "emoji32"):
        captions = [emoji_caption(str(c)) for c in emoji_codepoints(data_dir, split)]
    elif ds.labels is None or not ds.class_names:
        raise ValueError(f"dataset {ds.name!r} has no captions: text-to-image needs cifar10, emoji "
                         f"or a dataset with class names")
    else:
        templates = CIFAR10_TEMPLATES if ds.name == "cifar10" else GENERIC_TEMPLATES
        captions = class_captions(ds.labels, [n.lower() for n in ds.class_names], templates, seed)
    if len(captions) != len(ds.images):
        raise ValueError(f"dataset {ds.name!r}: {len(captions)} captions for {len(ds.images)} images")
    return captions
