"""The embedded default: a small DDPM on scikit-learn's 8x8 digits (no data directory needed).

python -m experiments.main --config=experiments/configs/default.py --workdir=runs/default
"""

from experiments.configs import common


def get_config(variant: str = ""):
    c = common.digits_run(common.guided(common.base_config()))
    return common.with_variant(c, variant, "default.py")
