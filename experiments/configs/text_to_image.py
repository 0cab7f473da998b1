"""Text-to-image on CIFAR-10 (32x32) or the 64x64 emoji: CIFAR-10 captions are the class names in photo templates ("a photo of
a cat", "a small cat", ...; gen_jax/data/captions.py); a small transformer text encoder trained
jointly with a U-Net that cross-attends to its token embeddings; caption dropout for
classifier-free guidance with the empty prompt.

python -m experiments.main --config=experiments/configs/text_to_image.py --workdir=runs/text_cifar10 \
    --config.data.dir=../shared/data
python -m experiments.sample --workdir=runs/text_cifar10 --prompt "a photo of a cat" --guidance 4 \
    --num=16 --out=cat.npz

Variants: "" (CIFAR-10, U-Net, DDPM), "rf" (U-Net, rectified flow), "dit" (DiT with
cross-attention, DDPM), "emoji" (the 64x64 emoji, U-Net, DDPM), "emoji32" (the emoji at 32x32, each
2x2 block averaged: what a CPU trains in minutes), "digits" (scikit-learn's 8x8
digits, captions "a 3", "an image of a 7", ...: minutes on a CPU), and "smoke", "rf_smoke",
"dit_smoke", "emoji_smoke", "emoji32_smoke", "digits_smoke": seconds-long runs on the 8x8 digits (captions "a 3", "an image of a
7", ...; no data directory needed).
"""

import ml_collections

from experiments.configs import common
from experiments.configs.dit_mnist import dit_smoke
from experiments.configs.rf_default import rectified_flow

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def text_section(c: ml_collections.ConfigDict, preview_prompts=()) -> ml_collections.ConfigDict:
    """Add config.text (the tokenizer and text encoder) and make the objective text-conditioned:
    objective.name "ddpm" -> "text_ddpm", "rectified_flow" -> "text_rf"."""
    c.objective.name = {"ddpm": "text_ddpm", "rectified_flow": "text_rf"}[c.objective.name]
    c.model.class_conditional = False   # the caption is the condition
    c.objective.cond_drop_prob = 0.1    # P(caption -> empty prompt) in training (CFG)
    c.text = ml_collections.ConfigDict()
    c.text.max_len = 16                 # tokens per caption, <bos> included (longer ones are cut)
    c.text.width = 64                   # text encoder width D (the context is [B, max_len, D])
    c.text.depth = 2                    # text encoder transformer blocks
    c.text.num_heads = 4                # text encoder attention heads
    c.text.vocab = ()                   # words; () = fitted from the training captions, saved in run.json
    c.text.preview_prompts = tuple(preview_prompts)  # prompts of preview grids (cycled)
    return c


def text_smoke(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A seconds-long text run on the 8x8 digits (class-name captions, no data directory)."""
    c.data.name = "digits"
    c.model.channel_mult = (1, 2)
    c.model.attention_resolutions = (4,)
    c.text.width = 16
    c.text.depth = 1
    c.text.num_heads = 2
    c.text.preview_prompts = ("a 3", "an image of a 7")
    return c


def get_config(variant: str = ""):
    base, _, smoke = variant.partition("_") if variant != "smoke" else ("", "", "smoke")
    if base not in ("", "rf", "dit", "emoji", "emoji32", "digits") or smoke not in ("", "smoke"):
        raise ValueError(f"unknown variant {variant!r} of text_to_image.py; expected one of '', 'rf', "
                         f"'dit', 'emoji', 'emoji32', 'digits', each optionally with '_smoke', or 'smoke'")
    c = common.base_config()
    if base == "rf":
        c = rectified_flow(c)
        c.optim.learning_rate = 1e-3
        c.sampler.num_steps = 25
    c.data.name = "cifar10"
    c.model.update(channels=32, channel_mult=(1, 2, 2), num_res_blocks=1, attention_resolutions=(8,), num_heads=4)
    if base == "dit":
        c.model.update(name="dit", patch_size=2, depth=6, hidden_size=128, num_heads=4)
    if base != "rf":
        c.objective.schedule = "cosine"
        c.optim.learning_rate = 1e-3
        c.sampler.num_steps = 25
    text_section(c, [f"a photo of a {k}" for k in CIFAR10_CLASSES])
    if base in ("emoji", "emoji32"):
        c.data.name = base
        if base == "emoji":  # 64x64: levels 64, 32, 16, 8 with attention at 16 and 8
            c.model.channel_mult = (1, 2, 2, 2)
            c.model.attention_resolutions = (16, 8)
        # emoji32: CIFAR-10's U-Net (levels 32, 16, 8, attention at 8)
        c.text.preview_prompts = ("red apple", "grinning face", "dog face", "heavy black heart",
                                  "flag j p", "thumbs up sign", "pile of poo", "rocket")
    if base == "digits":  # 8x8: levels 8, 4 with attention at 4
        c.data.name = "digits"
        c.model.channel_mult = (1, 2)
        c.model.attention_resolutions = (4,)
        c.text.width, c.text.depth, c.text.num_heads = 32, 1, 2
        c.text.preview_prompts = tuple(f"a {k}" for k in range(10))
    c.text.max_len = 16 if base in ("emoji", "emoji32") else 12  # CIFAR-10 captions have <= 8 words, emoji names 15
    c.optim.update(warmup_steps=100, ema_decay=0.995)  # ema: a short run, average over its last ~200 steps
    c.train.update(steps=1500, batch_size=64, ckpt_every=250, sample_every=1000, num_preview=20,
                   num_final_samples=20)
    if smoke:
        (dit_smoke if base == "dit" else common.smoke)(c)
        text_smoke(c)
    return c
