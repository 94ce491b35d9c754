"""stereo-pipeline: stereo image streaming with decoder side information."""

__version__ = "0.1.0"
