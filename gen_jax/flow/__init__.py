"""Rectified flow: the straight-path objective, its ODE samplers, reflow."""
