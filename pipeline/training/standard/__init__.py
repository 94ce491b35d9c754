"""Training the SI-Nets that serve the standard camera codecs: ``si-std1`` (JPEG, WebP, AVIF)
and ``si-std2`` (the video codecs H.264, HEVC, AV1).

No gradient flows through a standard codec, so training crops are coded and decoded once, the
SI-Finder runs on the full decoded views once (:mod:`.prepare` for still pairs and the image
codecs, :mod:`.prepare_video` for clips (:mod:`.clips`) coded as camera streams), and the
SI-Net then trains on the stored crops (:mod:`.train`); :mod:`.calibrate` fits the per-codec,
per-quality residual scales on held-out real frames, :mod:`.export` writes the registry's
weights file and :mod:`.measure` gives the gain over X_dec.
"""
