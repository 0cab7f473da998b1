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


# the other families' sections (config_types: GAN ... video): a config of each, with the workdirs
# a validator reads from the file system set to one that passes (a directory with a run.json)
def _family_config(name, workdir):
    import importlib

    from experiments.workdir import save_run_info

    module, _, variant = name.partition(":")
    c = importlib.import_module(f"experiments.configs.{module}").get_config(variant or "smoke")
    save_run_info(str(workdir), _config("ddpm"), (8, 8, 1), 10)
    for field in ("tokenizer_workdir", "autoencoder_workdir", "base_workdir", "teacher_workdir"):
        if field in c.objective:
            c.objective[field] = str(workdir)
    return c


@pytest.mark.parametrize("config,section,field", [
    ("dcgan_mnist", "model", "z_dimm"), ("stylegan2_mnist", "objective", "n_critc"),
    ("vae_default", "model", "latentdim"), ("vae_default", "objective", "likelyhood"),
    ("autoencoder_cifar10", "model", "d_layer"), ("autoencoder_cifar10", "objective", "kl_weigth"),
    ("vqvae_mnist", "model", "codedim"), ("vqvae_mnist", "objective", "num_code"),
    ("cyclegan_mnist", "model", "numblocks"), ("cyclegan_mnist", "objective", "cycle_wieght"),
    ("ar_mnist", "model", "mlpratio"), ("ar_mnist", "objective", "tokenizer_dir"),
    ("maskgit_mnist", "sampler", "choice_temp"),
    ("progressive_distill_mnist", "objective", "round"), ("consistency_distill_mnist", "objective", "num_scale"),
    ("progressive_distill_mnist", "model", "chanels"),
    ("ldm_cifar10", "objective", "latentscale"), ("text_to_image", "text", "widht"),
    ("controlnet_mnist", "objective", "conditon"), ("controlnet_mnist", "model", "hint_channel"),
    ("sr_mnist", "objective", "lowressize"), ("sr_mnist", "sampler", "auglevel"),
    ("video_mnist", "objective", "taskprobs"), ("video_mnist", "model", "temporalheads"),
    ("dcgan_mnist", "sampler", "truncaton"), ("vae_default", "sampler", "num_stepz"),
    ("autoencoder_cifar10", "sampler", "nme"), ("vqvae_mnist", "sampler", "temprature"),
    ("cyclegan_mnist", "sampler", "etaa"),
])
def test_misspelt_field_of_every_family_names_itself(tmp_path, config, section, field):
    c = _family_config(config, tmp_path)
    c[section][field] = 1
    with pytest.raises(ValueError, match=rf"config\.{section}\.{field}: unknown field of config\.{section} "
                                         rf"\(\w+\); expected one of \[.*'\w+'.*\]"):
        build.validate(c)


@pytest.mark.parametrize("config,field,value,expected", [
    ("dcgan_mnist", "model.z_dim", 0, "a positive int"),
    ("dcgan_mnist", "objective.gp_weight", -1.0, "a value >= 0"),
    ("stylegan2_mnist", "sampler.truncation", 1.5, r"a value in \[0, 1\]"),
    ("vae_default", "model.latent_dim", 0, "a positive int"),
    ("vae_default", "objective.obs_sigma", 0.0, "a value > 0"),
    ("autoencoder_cifar10", "model.latent_channels", 0, "a positive int"),
    ("autoencoder_cifar10", "objective.disc_start", -1, "an int >= 0"),
    ("vqvae_mnist", "model.code_dim", 0, "a positive int"),
    ("vqvae_mnist", "objective.codebook_decay", 1.0, r"a value in \[0, 1\)"),
    ("cyclegan_mnist", "model.num_blocks", 0, "a positive int"),
    ("cyclegan_mnist", "objective.pool_size", -1, "an int >= 0"),
    ("ar_mnist", "model.mlp_ratio", 0, "a positive int"),
    ("ar_mnist", "objective.cond_drop_prob", 1.5, r"a value in \[0, 1\]"),
    ("ar_mnist", "sampler.top_p", 0.0, r"a value in \(0, 1\]"),
    ("maskgit_mnist", "sampler.choice_temperature", -1.0, "a value >= 0"),
    ("progressive_distill_mnist", "objective.rounds", 0, "an int >= 1"),
    ("consistency_distill_mnist", "objective.target_ema", 1.0, r"a value in \[0, 1\)"),
    ("ldm_cifar10", "objective.scale_batch", 1, "an int >= 2"),
    ("text_to_image", "text.depth", -1, "an int >= 0"),
    ("controlnet_mnist", "objective.base_step", -1, "an int >= 0"),
    ("controlnet_mnist", "model.hint_channels", 0, "a positive int"),
    ("sr_mnist", "objective.aug_max", 1.5, r"a value in \[0, 1\]"),
    ("sr_mnist", "sampler.aug_level", -0.5, r"a value in \[0, 1\]"),
    ("video_mnist", "objective.task_probs", (1.0, 0.5, 0.5), "3 probabilities"),
    ("video_mnist", "model.temporal_heads", 0, "a positive int"),
])
def test_out_of_range_value_of_every_family_names_the_field(tmp_path, config, field, value, expected):
    c = _family_config(config, tmp_path)
    section, key = field.split(".")
    c[section][key] = value
    with pytest.raises(ValueError, match=rf"config\.{field}: expected {expected}.*, found {re.escape(repr(value))}"):
        build.validate(c)


@pytest.mark.parametrize("config", ["dcgan_mnist", "stylegan2_mnist", "vae_default", "autoencoder_cifar10",
                                    "vqvae_mnist", "cyclegan_mnist", "sr_mnist", "video_mnist"])
def test_every_family_smoke_config_validates(tmp_path, config):
    build.validate(_family_config(config, tmp_path))
