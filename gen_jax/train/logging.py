"""Scalar logging to TensorBoard (tensorboardX) and a JSON-lines file, from process 0 only."""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np


class MetricWriter:
    """Appends scalars per step. start_step: the step a run resumes from; records of later steps
    (written before a crash, replayed now) are dropped from metrics.jsonl and TensorBoard, so each
    step is logged once however often the run was resumed."""

    def __init__(self, logdir: str, tensorboard: bool = True, start_step: int | None = None):
        self.active = jax.process_index() == 0
        self._tb = None
        self._f = None
        if not self.active:
            return
        os.makedirs(logdir, exist_ok=True)
        path = os.path.join(logdir, "metrics.jsonl")
        if start_step is not None:
            _truncate_after(path, start_step)
        self._f = open(path, "a")
        if tensorboard:
            try:
                from tensorboardX import SummaryWriter
                # purge_step: TensorBoard hides this file's and earlier files' events at steps
                # >= purge_step
                self._tb = SummaryWriter(logdir, purge_step=start_step + 1 if start_step else None)
            except ImportError:  # logging still goes to metrics.jsonl
                self._tb = None

    def write(self, step: int, scalars: dict) -> None:
        if not self.active:
            return
        scalars = {k: float(np.asarray(v)) for k, v in scalars.items()}
        self._f.write(json.dumps({"step": int(step), "time": time.time(), **scalars}) + "\n")
        self._f.flush()
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, v, step)
            self._tb.flush()

    def close(self) -> None:
        if self._f:
            self._f.close()
        if self._tb is not None:
            self._tb.close()


def _truncate_after(path: str, step: int) -> None:
    """Drop the records of steps > step from a metrics.jsonl (atomically; a torn last line from a
    crash is dropped too)."""
    if not os.path.exists(path):
        return
    keep, changed = [], False
    with open(path) as f:
        for line in f:
            try:
                ok = json.loads(line)["step"] <= step
            except (ValueError, KeyError, TypeError):
                ok = False
            if ok:
                keep.append(line if line.endswith("\n") else line + "\n")
            changed |= not ok or not line.endswith("\n")
    if changed:
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.writelines(keep)
        os.replace(tmp, path)


def read_metrics(logdir: str) -> list[dict]:
    path = os.path.join(logdir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
