"""Rate-distortion evaluation of our stereo codec against the image codecs people use.

``stereo-pipeline eval`` (:mod:`pipeline.evaluation.cli`) writes ``rd.json`` and ``rd.png``;
``docs/evaluation.md`` specifies both. :func:`bd_rate` and :func:`bd_psnr` compare two curves.
"""

from pipeline.evaluation.bd_rate import CurveError, bd_psnr, bd_rate

__all__ = ["CurveError", "bd_psnr", "bd_rate"]
