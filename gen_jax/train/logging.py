"""Scalar logging to TensorBoard (tensorboardX) and a JSON-lines file, from process 0 only."""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np


class MetricWriter:
    def __init__(self, logdir: str, tensorboard: bool = True):
        self.active = jax.process_index() == 0
        self._tb = None
        self._f = None
        if not self.active:
            return
        os.makedirs(logdir, exist_ok=True)
        self._f = open(os.path.join(logdir, "metrics.jsonl"), "a")
        if tensorboard:
            try:
                from tensorboardX import SummaryWriter
                self._tb = SummaryWriter(logdir)
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


def read_metrics(logdir: str) -> list[dict]:
    path = os.path.join(logdir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
