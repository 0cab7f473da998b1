"""GANs: adversarial losses and regularisers, and the alternating D/G step run by the one loop."""
