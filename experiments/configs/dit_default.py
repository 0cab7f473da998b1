"""A small DiT DDPM on scikit-learn's 8x8 digits (patch 2 -> 4x4 tokens; no data directory needed).

python -m experiments.main --config=experiments/configs/dit_default.py --workdir=runs/dit_default
"""

from experiments.configs import common
from experiments.configs.dit_mnist import dit_smoke


def get_config(variant: str = ""):
    c = common.guided(common.digits_run(common.base_config(), learning_rate=3e-4, steps=3000))
    common.update(c, model=dict(name="dit", patch_size=2, depth=4, hidden_size=128, num_heads=4))
    return common.with_variant(c, variant, "dit_default.py", smoke=dit_smoke)
