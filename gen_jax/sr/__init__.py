"""Super-resolution diffusion (SR3 / cascaded diffusion) on the generalized-diffusion core."""
