"""Video diffusion with a factorised space-time U-Net and masked frame conditioning."""
