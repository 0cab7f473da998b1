"""config -> RasterARObjective (objective.name 'ar') on a trained VQ-VAE's tokens; the shared
parts of the token families (MaskGIT in maskgit.py uses them too)."""

from __future__ import annotations

import os

import ml_collections


def validate(c: ml_collections.ConfigDict) -> None:
    """ar and maskgit: the token transformer, the tokenizer run, the token sampler."""
    from experiments import config_types as T

    T.check(c.model.name == "token_transformer", "model.name",
            f"'token_transformer' (objective.name is {c.objective.name!r})", c.model.name)
    T.parse_model(T.TokenModelConfig, c.model)
    o = T.parse(T.TokenObjectiveConfig, c.objective, "objective")
    T.check(bool(o.tokenizer_workdir) and os.path.exists(os.path.join(o.tokenizer_workdir, "run.json")),
            "objective.tokenizer_workdir", "the workdir of a trained vqvae run (with run.json)",
            o.tokenizer_workdir)
    T.parse(T.TokenSamplerConfig, c.sampler, "sampler", ("eta", "spacing"))  # base_config's, unused


def load_tokenizer(c: ml_collections.ConfigDict, image_shape):
    """(VQVAEObjective, its EMA params) from objective.tokenizer_workdir, checked against the data."""
    from experiments.config_types import check
    from experiments.sampling import load_objective_and_params
    from gen_jax.ar.tokenizer import VQVAEObjective

    wd = c.objective.tokenizer_workdir
    _, tok, state, _ = load_objective_and_params(wd)
    check(isinstance(tok, VQVAEObjective), "objective.tokenizer_workdir", "the workdir of a vqvae run",
          f"{wd} ({type(tok).__name__})")
    check(tuple(tok.image_shape) == tuple(image_shape), "objective.tokenizer_workdir",
          f"a tokenizer of images {tuple(image_shape)} (config.data.name={c.data.name!r})",
          f"{wd} (images {tuple(tok.image_shape)})")
    return tok, state.ema_params


def common_args(c: ml_collections.ConfigDict, image_shape, num_classes, causal: bool) -> dict:
    from experiments.build import model_classes, optimizer
    from gen_jax.nn.transformer import TokenTransformer

    m = c.model
    classes = model_classes(c, num_classes)
    tok, tok_params = load_tokenizer(c, image_shape)
    h, w = tok.token_shape
    model = TokenTransformer(vocab_size=tok.num_codes, seq_len=h * w, num_classes=classes, width=m.width,
                             depth=m.depth, num_heads=m.num_heads, mlp_ratio=m.mlp_ratio, causal=causal)
    tx, lr = optimizer(c)
    return dict(model=model, vqvae=tok, vqvae_params=tok_params, image_shape=tuple(image_shape),
                tx=tx, lr_schedule=lr, num_classes=classes,
                cond_drop_prob=c.objective.cond_drop_prob if classes else 0.0, ema_decay=c.optim.ema_decay)


def build(c: ml_collections.ConfigDict, image_shape, num_classes):
    from gen_jax.ar.objective import RasterARObjective

    return RasterARObjective(**common_args(c, image_shape, num_classes, causal=True))


def sample_options(c: ml_collections.ConfigDict) -> dict:
    """Keyword options of objective.sample for this family from config.sampler (labels apart)."""
    s = c.sampler
    return dict(guidance=s.guidance, temperature=s.temperature, top_k=s.top_k, top_p=s.top_p)
