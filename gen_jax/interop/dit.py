"""diffusers `DiTTransformer2DModel` <-> gen_jax `DiT` (facebook/DiT-XL-2-256 and -512:
class-conditional, learned sigma, i.e. out_channels = 2 × in_channels). Their config.json names
the class `Transformer2DModel`, which diffusers (and gen_jax.interop.class_name_of) read as
DiTTransformer2DModel for norm_type "ada_norm_zero".

diffusers stores the timestep and class embeddings once per block (norm1.emb), as copies of the
one embedding of the original DiT; gen_jax holds it once. Import checks that the copies are equal
(otherwise the checkpoint cannot be expressed and is refused); export writes the copies.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gen_jax.interop.folder import InteropError
from gen_jax.nn.dit import DiT

CLASS_NAME = "DiTTransformer2DModel"
DEFAULTS = dict(num_attention_heads=16, attention_head_dim=72, in_channels=4, out_channels=None,
                num_layers=28, dropout=0.0, norm_num_groups=32, attention_bias=True, sample_size=32,
                patch_size=2, activation_fn="gelu-approximate", num_embeds_ada_norm=1000,
                upcast_attention=False, norm_type="ada_norm_zero", norm_elementwise_affine=False,
                norm_eps=1e-5)
FREQUENCY_DIM = 256  # diffusers' CombinedTimestepLabelEmbeddings: Timesteps(256, True, shift 1)


def _need(cond: bool, field: str, expected: str, found) -> None:
    if not cond:
        raise InteropError(f"{CLASS_NAME} config.json field {field!r}: gen_jax's DiT needs "
                           f"{expected}, found {found!r}")


def dit_from_config(config: dict, dtype=None) -> tuple[DiT, tuple]:
    """(DiT, latent shape (H, W, C)) expressing the config exactly."""
    cfg = {**DEFAULTS, **{k: v for k, v in config.items() if not k.startswith("_")}}
    for k, ok in (("norm_type", "ada_norm_zero"), ("activation_fn", "gelu-approximate"),
                  ("attention_bias", True), ("norm_elementwise_affine", False)):
        _need(cfg[k] == ok, k, repr(ok), cfg[k])
    _need(cfg["num_embeds_ada_norm"] is not None, "num_embeds_ada_norm", "a class count", None)
    for k in ("cross_attention_dim", "num_vector_embeds", "only_cross_attention", "double_self_attention"):
        _need(not cfg.get(k), k, "it unset (a Transformer2DModel config of the DiT layout)", cfg.get(k))
    size = cfg["sample_size"]
    model = DiT(patch_size=cfg["patch_size"], hidden_size=cfg["num_attention_heads"] * cfg["attention_head_dim"],
                depth=cfg["num_layers"], num_heads=cfg["num_attention_heads"], mlp_ratio=4.0,
                dropout=float(cfg["dropout"]), num_classes=cfg["num_embeds_ada_norm"],
                out_channels=cfg["out_channels"] or cfg["in_channels"], frequency_dim=FREQUENCY_DIM,
                dtype=dtype, time_freq_shift=1.0, pos_embed_col_first=True,
                mlp_norm_eps=float(cfg["norm_eps"]))
    return model, (size, size, cfg["in_channels"])


def config_from_dit(model: DiT, image_shape) -> dict:
    if (model.frequency_dim, model.time_freq_shift, model.pos_embed_col_first, model.mlp_ratio) != (FREQUENCY_DIM, 1.0, True, 4.0):
        raise InteropError("export: DiTTransformer2DModel needs frequency_dim=256, time_freq_shift=1, "
                           "pos_embed_col_first=True and mlp_ratio=4 (a DiT imported from diffusers has them)")
    if model.num_classes is None or model.cross_attention:
        raise InteropError("export: DiTTransformer2DModel is class-conditional without cross-attention")
    return {"_class_name": CLASS_NAME, "num_attention_heads": model.num_heads,
            "attention_head_dim": model.hidden_size // model.num_heads, "in_channels": image_shape[-1],
            "out_channels": model.out_channels or image_shape[-1], "num_layers": model.depth,
            "dropout": model.dropout, "attention_bias": True, "sample_size": image_shape[0],
            "patch_size": model.patch_size, "activation_fn": "gelu-approximate",
            "num_embeds_ada_norm": model.num_classes, "norm_type": "ada_norm_zero",
            "norm_elementwise_affine": False, "norm_eps": model.mlp_norm_eps}


def layout(model: DiT, image_shape) -> list:
    emb = [f"transformer_blocks.{i}.norm1.emb" for i in range(model.depth)]
    out = [(("Conv_0",), "pos_embed.proj", "conv"),
           (("Dense_0",), [f"{e}.timestep_embedder.linear_1" for e in emb], "dense"),
           (("Dense_1",), [f"{e}.timestep_embedder.linear_2" for e in emb], "dense"),
           (("Embed_0",), [f"{e}.class_embedder.embedding_table" for e in emb], "embed")]
    for i in range(model.depth):
        p, b = (f"DiTBlock_{i}",), f"transformer_blocks.{i}"
        out.extend([(p + ("Dense_0",), f"{b}.norm1.linear", "dense"),
                    (p + ("MultiHeadDotProductAttention_0",), f"{b}.attn1", "attention"),
                    (p + ("Dense_1",), f"{b}.ff.net.0.proj", "dense"), (p + ("Dense_2",), f"{b}.ff.net.2", "dense")])
    out.extend([(("Dense_2",), "proj_out_1", "dense"), (("Dense_3",), "proj_out_2", "dense")])
    return out


def abstract_params(model: DiT, image_shape):
    x = jax.ShapeDtypeStruct((1, *image_shape), jnp.float32)
    t = jax.ShapeDtypeStruct((1,), jnp.int32)
    y = jax.ShapeDtypeStruct((1,), jnp.int32)
    return jax.eval_shape(lambda x, t, y: model.init(jax.random.PRNGKey(0), x, t, y), x, t, y)["params"]
