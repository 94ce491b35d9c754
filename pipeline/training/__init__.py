"""Training of the stereo codec, in four rooms.

- :mod:`.cli`: ``stereo-pipeline train`` and ``stereo-pipeline export``;
- :mod:`.loop`: the training loop (trainer, loss, which weights a mode moves);
- :mod:`.data`: the data feed (image and stereo-pair datasets, pairs rendered from single
  images, the batch stream, and packing images for a remote machine);
- :mod:`.surgery`: one-off tools that derive a checkpoint from another (widen, graft, guide,
  relevel, calibrate), each a ``python -m pipeline.training.surgery.<tool>`` command;
- :mod:`.standard`: the SI-Net that serves the standard camera codecs (JPEG, WebP, AVIF).
"""
