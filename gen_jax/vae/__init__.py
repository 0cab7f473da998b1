"""Variational autoencoders: the ELBO objective and latent-space helpers."""
