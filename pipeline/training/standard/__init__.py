"""Training the SI-Net that serves the standard camera codecs (JPEG, WebP, AVIF).

No gradient flows through a standard codec, so training crops are coded and decoded once, the
SI-Finder runs on the full decoded views once (:mod:`.prepare`), and the SI-Net then trains
on the stored crops (:mod:`.train`); :mod:`.calibrate` fits the per-codec, per-quality residual
scales on held-out real pairs, and :mod:`.export` writes the registry's weights file.
"""
