"""Typed config sections (experiments/config_types.py): a misspelt field names itself, its section
and the accepted names; an out-of-range value names the field, the expected range and the value."""

import re

import pytest

from experiments import build
from experiments.configs import default, diffusion_default, dit_default, rf_default


def _config(kind):
    return {"ddpm": default.get_config, "rf": rf_default.get_config, "dit": dit_default.get_config,
            "diffusion": diffusion_default.get_config}[kind]()


@pytest.mark.parametrize("kind,section,field", [
    ("ddpm", "optim", "learning_rat"), ("ddpm", "train", "batchsize"), ("ddpm", "data", "splits"),
    ("ddpm", "sampler", "num_step"), ("ddpm", "model", "chanels"), ("dit", "model", "patchsize"),
    ("ddpm", "objective", "schedul"), ("rf", "objective", "time_samplng"),
    ("diffusion", "objective", "proces"),
])
def test_misspelt_field_names_itself_the_section_and_the_accepted(kind, section, field):
    c = _config(kind)
    c[section][field] = 1
    with pytest.raises(ValueError, match=rf"config\.{section}\.{field}: unknown field of config\.{section} "
                                         rf"\(\w+\); expected one of \[.*'\w+'.*\]"):
        build.validate(c)


@pytest.mark.parametrize("kind,field,value,expected", [
    ("ddpm", "optim.ema_decay", 1.0, r"a value in \[0, 1\)"),
    ("ddpm", "optim.b2", 1.5, r"a value in \[0, 1\)"),
    ("ddpm", "train.steps_per_call", 0, "an int >= 1"),
    ("ddpm", "train.log_every", 0, "an int >= 1"),
    ("ddpm", "data.crop", -1, "an int >= 0"),
    ("ddpm", "sampler.eta", -0.5, "a value >= 0"),
    ("ddpm", "sampler.spacing", "uniform", "one of"),
    ("ddpm", "model.dropout", 1.0, r"a value in \[0, 1\)"),
    ("ddpm", "model.channel_mult", (), "a non-empty tuple"),
    ("dit", "model.hidden_size", 130, "a multiple of 4"),
    ("ddpm", "objective.num_timesteps", 1, "an int >= 2"),
    ("rf", "objective.logit_scale", 0.0, "a value > 0"),
    ("rf", "sampler.shift", -1.0, "a value > 0"),
    ("diffusion", "objective.sigma_max", 0.001, "a value > objective.sigma_min"),
])
def test_out_of_range_value_names_the_field_the_range_and_the_value(kind, field, value, expected):
    c = _config(kind)
    section, key = field.split(".")
    c[section][key] = value
    with pytest.raises(ValueError, match=rf"config\.{field}: expected {expected}.*, found {re.escape(repr(value))}"):
        build.validate(c)


def test_saved_run_without_the_newer_optional_fields_still_validates():
    c = default.get_config()
    assert "pairs" not in c.data and "b1" not in c.optim and "shift" not in c.sampler
    build.validate(c)  # data.pairs, optim.b1/b2/d_learning_rate, sampler.shift: defaults
