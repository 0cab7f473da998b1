"""Networks only (Flax linen modules)."""
