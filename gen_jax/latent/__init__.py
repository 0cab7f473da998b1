"""Latent diffusion: the KL autoencoder objective and diffusion / flow on its scaled latents."""
