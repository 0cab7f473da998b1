"""The notebooks run (under nbmake) at XLA's default optimisation level.

tests/conftest.py sets --xla_backend_optimization_level=0 in os.environ for the tests (tiny models
whose cost is compilation), and the notebooks' kernels would inherit it; but the notebooks train for
hundreds of steps, where level 0 runs the convolutions several times slower (gans.ipynb: 233 s at
level 0, 51 s at the default level, on 2 CPU cores). So the flag is taken out of the environment
while a notebook's kernel starts and runs, and put back afterwards. Notebooks that are
compile-bound (rectified_flow.ipynb, latent_diffusion.ipynb) set level 0 themselves.
"""

import os
import re

_LEVEL0 = re.compile(r"\s*--xla_backend_optimization_level=0")
_saved = {}


def pytest_runtest_setup(item):
    if item.path.suffix == ".ipynb" and "XLA_FLAGS" in os.environ:
        _saved[item.nodeid] = os.environ["XLA_FLAGS"]
        os.environ["XLA_FLAGS"] = _LEVEL0.sub("", os.environ["XLA_FLAGS"]).strip()


def pytest_runtest_teardown(item):
    if item.nodeid in _saved:
        os.environ["XLA_FLAGS"] = _saved.pop(item.nodeid)
