"""``stereo-pipeline camera``: run one camera node (one view of a stereo rig).

    stereo-pipeline camera --config configs/camera-left.toml [--fps F] [--frames N]
    stereo-pipeline camera --config configs/camera-left.toml --validate-config

Exit codes: 0 done or stopped by SIGTERM/SIGINT, 1 the source or codec failed to start,
2 a bad configuration or argument, or a port in use.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from camera_nodes.config import CameraConfig
from camera_nodes.preflight import camera_weights, check_camera, describe, video_encoder
from pipeline.config import ConfigError, load_config
from pipeline.help_text import command_parser, options

log = logging.getLogger("camera_nodes")


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("stereo-pipeline camera", "Capture, encode and send one stereo view.")
    parser.add_argument("--config", required=True, help="camera node TOML file")
    parser.add_argument("--fps", type=float, help="override the capture rate")
    parser.add_argument("--frames", type=int, help="override the frame count (0 = forever)")
    parser.add_argument("--endpoint", help="override the decoder endpoint")
    parser.add_argument("--metrics-port", type=int, help="override the /metrics port (0 = off)")
    parser.add_argument("--weights-dir", help="override the weights folder (docs/weights.md)")
    parser.add_argument("--weights-hash", help="override which weights file of the folder")
    parser.add_argument(
        "--validate-config", action="store_true", help="check the config file and exit"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    return parser


def load(args: argparse.Namespace) -> CameraConfig:
    """The config file with the command-line overrides applied (all checked alike)."""
    names = ("fps", "frames", "endpoint", "metrics_port", "weights_dir", "weights_hash")
    given = options(args, *names)
    overrides = {key: value for key, value in given.items() if value is not None}
    return load_config(args.config, CameraConfig, overrides)


@contextmanager
def stop_on_signals(stop) -> Iterator[None]:
    """Call ``stop()`` on SIGTERM/SIGINT while inside (main thread only; else a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda signum, _frame: stop())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Run the camera command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load(args)
        check_camera(config)
    except ConfigError as e:
        print(f"invalid config: {args.config}: {e}", file=sys.stderr)
        return 2
    if args.validate_config:
        weights = camera_weights(config)
        used = "built-in weights" if weights is None else f"weights {weights.path}"
        source = f"source {config.source.type}, decoder {config.decoder_endpoint}"
        where = f"{config.rig_id}/{config.side}, {source}, {used}"
        if config.is_video and not config.passes_through:
            where += f", {config.codec} encoder {describe(video_encoder(config))}"
        print(f"{args.config}: OK ({where})")
        return 0
    return run(config)


def run(config: CameraConfig) -> int:
    """Build and run the node until done or signalled."""
    import zmq
    from prometheus_client import disable_created_metrics

    from camera_nodes.node import CameraNode  # torch only for the dsin codec
    from camera_nodes.sources import SourceError
    from pipeline.codec.bitstream.errors import CodecError

    disable_created_metrics()  # no *_created series, as on the decoder
    node = CameraNode(config)
    try:
        with stop_on_signals(node.stop):
            node.run()  # logs its frame counts when it stops
    except ConfigError as e:  # the host refused what the config asks (a port in use)
        log.error("camera node cannot start: %s", e)
        return 2
    except (SourceError, CodecError, ValueError, OSError, zmq.ZMQError) as e:
        log.error("camera node failed: %s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
