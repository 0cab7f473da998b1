"""Text conditioning: a word-level tokenizer, a small transformer text encoder, and the wrapper
that feeds its token embeddings to an image backbone (UNet/DiT with cross_attention=True).

Token ids: 0 = <pad>, 1 = <bos>, 2 = <unk>, then the vocabulary's words. Every caption is
[<bos>, words..., <pad>...] of fixed length max_len, so the empty prompt is [<bos>, <pad>, ...]:
its embedding is the unconditional branch of classifier-free guidance. The encoder's output at
position 0 (<bos>) is the pooled embedding (like BERT's [CLS]).
"""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import Iterable, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

PAD, BOS, UNK = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<unk>")
_WORD = re.compile(r"[a-z0-9]+")


def split_words(text: str) -> list[str]:
    """Lower-case words: runs of [a-z0-9] ("Red-apple!" -> ["red", "apple"])."""
    return _WORD.findall(text.lower())


@dataclasses.dataclass(frozen=True)
class Tokenizer:
    """Lower-case word-level tokenizer with padding/truncation to max_len (including <bos>)."""

    vocab: tuple[str, ...]           # words; word vocab[i] has id i + len(SPECIALS)
    max_len: int = 16

    def __post_init__(self):
        if self.max_len < 2:
            raise ValueError(f"Tokenizer.max_len must be >= 2 (<bos> + one word), got {self.max_len}")
        if len(set(self.vocab)) != len(self.vocab) or any(not _WORD.fullmatch(w) for w in self.vocab):
            raise ValueError("Tokenizer.vocab must be distinct lower-case words matching [a-z0-9]+")

    @classmethod
    def fit(cls, texts: Iterable[str], max_len: int = 16, max_words: int | None = None) -> "Tokenizer":
        """The vocabulary of texts: words by decreasing count (ties alphabetical), at most max_words."""
        counts = collections.Counter(w for t in texts for w in split_words(t))
        words = sorted(counts, key=lambda w: (-counts[w], w))[:max_words]
        return cls(tuple(words), max_len)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + len(SPECIALS)

    def _ids(self):
        # a dict per call is cheap at these sizes and keeps the dataclass hashable and immutable
        return {w: i + len(SPECIALS) for i, w in enumerate(self.vocab)}

    def encode(self, texts: str | Sequence[str]) -> np.ndarray:
        """Token ids int32 [N, max_len] (a single string gives [1, max_len]); words beyond
        max_len − 1 are dropped, unknown words become <unk>."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        ids = self._ids()
        out = np.full((len(texts), self.max_len), PAD, np.int32)
        out[:, 0] = BOS
        for row, text in enumerate(texts):
            toks = [ids.get(w, UNK) for w in split_words(text)][: self.max_len - 1]
            out[row, 1:1 + len(toks)] = toks
        return out

    def decode(self, tokens) -> list[str]:
        """Texts of token ids [N, L]: the words joined by spaces (<unk> kept, <bos>/<pad> dropped)."""
        words = SPECIALS + self.vocab
        return [" ".join(words[i] for i in row if i not in (PAD, BOS)) for row in np.asarray(tokens)]

    def unknown_words(self, text: str) -> list[str]:
        """The words of text that are not in the vocabulary (they would become <unk>)."""
        known = set(self.vocab)
        return [w for w in split_words(text) if w not in known]

    def truncated(self, text: str) -> bool:
        return len(split_words(text)) > self.max_len - 1


class TextEncoder(nn.Module):
    """Tokens [B, L] int -> token embeddings [B, L, width]; position 0 (<bos>) is the pooled
    embedding. A pre-LayerNorm transformer (Vaswani et al. 2017) with learned positions; keys at
    <pad> positions are masked, so a caption's embedding does not depend on its padding."""

    vocab_size: int
    max_len: int = 16
    width: int = 128
    depth: int = 2
    num_heads: int = 4
    mlp_ratio: float = 4.0
    dtype: jnp.dtype | None = None

    @nn.compact
    def __call__(self, tokens):
        b, length = tokens.shape
        if length > self.max_len:
            raise ValueError(f"TextEncoder(max_len={self.max_len}) got tokens of length {length}")
        x = nn.Embed(self.vocab_size, self.width, dtype=self.dtype)(tokens)
        pos = self.param("pos_embedding", nn.initializers.normal(0.02), (self.max_len, self.width))
        x = x + pos[:length].astype(x.dtype)
        mask = nn.make_attention_mask(jnp.ones_like(tokens, bool), tokens != PAD)  # [B, 1, L, L]
        for _ in range(self.depth):
            h = nn.LayerNorm(dtype=self.dtype)(x)
            x = x + nn.MultiHeadDotProductAttention(num_heads=self.num_heads, dtype=self.dtype)(h, mask=mask)
            h = nn.LayerNorm(dtype=self.dtype)(x)
            h = nn.gelu(nn.Dense(int(self.width * self.mlp_ratio), dtype=self.dtype)(h))
            x = x + nn.Dense(self.width, dtype=self.dtype)(h)
        return nn.LayerNorm(dtype=self.dtype)(x)


class TextConditioned(nn.Module):
    """An image backbone (UNet/DiT with cross_attention=True) conditioned on a caption.
    Call: (x [B,H,W,C], t [B], tokens [B, L] int, train) -> backbone(x, t, None, train,
    context=encoder(tokens)). The encoder is trained jointly with the backbone."""

    backbone: nn.Module
    encoder: TextEncoder

    def __call__(self, x, t, tokens, train: bool = False):
        return self.backbone(x, t, None, train, context=self.encoder(tokens))

    def encode(self, tokens):
        """The context [B, L, width] of tokens (call with method="encode")."""
        return self.encoder(tokens)
