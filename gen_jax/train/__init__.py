"""Training: state, the one loop, checkpoints, sharding, logging."""
