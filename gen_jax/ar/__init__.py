"""Autoregressive image models over discrete tokens: the VQ-VAE tokenizer's objective, raster
(decoder-only transformer with a KV cache) and MaskGIT (bidirectional, cosine-schedule parallel
decoding) objectives over its token grid, and their samplers."""
