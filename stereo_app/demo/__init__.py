"""``stereo-pipeline demo``: the whole pipeline on the synthetic stereo scene, over loopback.

Starts the decoder daemon and the two camera nodes of one rig as separate processes, streams
N frames, shows progress, stops everything with SIGTERM, and writes a report (frames, bits per
pixel, PSNR with and without side information, per-stage latency percentiles).
"""

from stereo_app.demo.cli import main

__all__ = ["main"]
