"""Entropy coding of the learned codec's latents: ``coder.py`` (the latent coder and its CDF
tables), ``rans.py`` (the rANS decoder)."""
