"""Resume checks: a workdir that holds checkpoints is only resumed with the config that wrote it.

Fields that do not change what the checkpoints hold or how training proceeds up to now (the step
budget, logging and checkpoint cadence, the data directory, the final sampler) may change."""

from __future__ import annotations

import json
import os

import ml_collections

# Prefixes of config fields that may differ between a run and its resumption.
RESUMABLE = ("train.steps", "train.log_every", "train.ckpt_every", "train.keep_checkpoints",
             "train.sample_every", "train.num_preview", "train.num_final_samples",
             "train.eval_every", "train.eval_samples", "train.eval_real", "train.steps_per_call",
             "train.loss_blowup_factor", "data.dir", "sampler.")


class ConfigMismatchError(ValueError):
    """The config differs from the one that wrote the workdir's checkpoints."""


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _norm(v):
    return list(v) if isinstance(v, tuple) else v


def differing_fields(old: dict, new: dict) -> dict[str, tuple]:
    """{field: (old, new)} over the fields (flattened, dotted) that may not change on resume."""
    a, b = _flatten(old), _flatten(new)
    out = {}
    for k in sorted(set(a) | set(b)):
        if k.startswith(RESUMABLE):
            continue
        va, vb = _norm(a.get(k, "<absent>")), _norm(b.get(k, "<absent>"))
        if va != vb:
            out[k] = (va, vb)
    return out


def has_checkpoints(workdir: str) -> bool:
    d = os.path.join(workdir, "checkpoints")
    return os.path.isdir(d) and any(n.isdigit() for n in os.listdir(d))


def check(workdir: str, c: ml_collections.ConfigDict) -> None:
    """Raise ConfigMismatchError (naming the fields) if workdir's run.json records another config
    and the workdir holds checkpoints. A workdir without checkpoints starts over."""
    path = os.path.join(workdir, "run.json")
    if not (os.path.exists(path) and has_checkpoints(workdir)):
        return
    try:
        with open(path) as f:
            old = json.load(f)["config"]
    except (OSError, ValueError, KeyError) as e:
        raise ConfigMismatchError(f"{path} cannot be read ({type(e).__name__}: {e}); it records "
                                  f"the config of the checkpoints beside it") from e
    diffs = differing_fields(old, json.loads(c.to_json()))
    if diffs:
        shown = "; ".join(f"config.{k}: {a!r} -> {b!r}" for k, b_a in list(diffs.items())[:6]
                          for a, b in [b_a])
        more = f" (and {len(diffs) - 6} more)" if len(diffs) > 6 else ""
        raise ConfigMismatchError(
            f"{workdir} holds checkpoints of another config: {shown}{more}. Resume with the "
            f"original config (recorded in {path}) or use a new --workdir")
