"""Model surgery: tools that write a checkpoint derived from another without retraining.

Each is a command, ``python -m pipeline.training.surgery.<tool> SOURCE TARGET ...``:
:mod:`.widen` (more latent channels, a wider camera-side g_a via :mod:`.widen_analysis`),
:mod:`.graft` (one run's SI-Net on another's codec), :mod:`.guide` (a guided SI-Net),
:mod:`.levels` (new quality levels), :mod:`.calibrate` (the SI-Net's per-level residual
scales); :mod:`.derive` writes what they make.
"""
