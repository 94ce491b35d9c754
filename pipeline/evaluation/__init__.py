"""Rate-distortion evaluation of our stereo codec against the image codecs people use.

``stereo-pipeline eval`` (:mod:`pipeline.evaluation.cli`) writes ``rd.json`` and ``rd.png``;
``docs/evaluation.md`` specifies both. :mod:`pipeline.evaluation.bd_rate` compares two curves.
The package imports nothing itself, so :func:`pipeline.evaluation.quality.psnr` (the demo's
score) loads neither torch nor scipy.
"""
