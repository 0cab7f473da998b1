"""experiments/bench_cascade.py: the three configs compare like with like."""

import json

from experiments import build
from experiments.bench_cascade import _steady_speed, configs


def test_configs_share_the_network_and_split_the_budget():
    base, sr, single = configs(steps=30, batch=16, channels=8, lowres=16)
    for c in (base, sr, single):
        build.validate(c)
        design = ("channels", "channel_mult", "num_res_blocks", "attention_resolutions", "dropout")
        assert {k: c.model[k] for k in design} == {k: base.model[k] for k in design}
        assert (c.objective.process, c.objective.prediction) == ("ddpm_cosine", "eps")
        assert c.train.batch_size == 16 and c.data.name == "cifar10"
    assert (base.train.steps, sr.train.steps, single.train.steps) == (30, 30, 60)
    assert sr.objective.name == "sr" and sr.objective.lowres_size == 16
    assert base.model.class_conditional and single.model.class_conditional


def test_steady_speed_leaves_out_the_first_interval(tmp_path):
    (tmp_path / "logs").mkdir()
    rows = [{"step": 10, "steps_per_sec": 0.5}, {"step": 20, "steps_per_sec": 100.0},
            {"step": 30, "steps_per_sec": 120.0}, {"step": 40, "steps_per_sec": 110.0}]
    (tmp_path / "logs" / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert _steady_speed(str(tmp_path)) == 110.0
    assert _steady_speed(str(tmp_path / "missing")) is None
