"""Every experiment config and variant keeps the values it had before the configs were made to
compose from experiments/configs/common.py: a sha256 of each one's sorted JSON, recorded in
config_presets.json ("file:variant" -> first 16 hex digits) from the configs as they were."""

import hashlib
import importlib
import json
import pathlib

import pytest

RECORD = json.loads((pathlib.Path(__file__).parent / "config_presets.json").read_text())


def _digest(c) -> str:
    values = json.loads(c.to_json_best_effort(sort_keys=True))
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


@pytest.mark.parametrize("key", sorted(RECORD))
def test_config_values_unchanged(key):
    name, variant = key.split(":")
    get_config = importlib.import_module(f"experiments.configs.{name}").get_config
    assert _digest(get_config(variant) if variant else get_config()) == RECORD[key]


def test_every_config_is_recorded():
    files = {p.stem for p in (pathlib.Path(__file__).parents[2] / "experiments" / "configs").glob("*.py")}
    with_get_config = {f for f in files if hasattr(importlib.import_module(f"experiments.configs.{f}"), "get_config")}
    assert with_get_config == {k.split(":")[0] for k in RECORD}


@pytest.mark.parametrize("name", ["ddpm_mnist", "diffusion_default", "sr_mnist"])
def test_unknown_variant_names_itself_and_the_accepted(name):
    with pytest.raises(ValueError, match=rf"unknown variant 'nope' of {name}\.py; expected .*'smoke'"):
        importlib.import_module(f"experiments.configs.{name}").get_config("nope")
