"""``stereo-pipeline decoder --config FILE [--validate-config]``: run the decoder daemon.

SIGTERM or SIGINT drains (queued pairs are decoded, sinks flushed) and exits 0; a second signal
exits at once with 128 + the signal number. Exit codes: 0 stopped on request, 1 failed while
running, 2 invalid configuration or environment (a value start-up cannot use, a port in use, an
output folder it may not write): one line naming the key and the reason, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from decoder_node.config import DecoderConfig
from decoder_node.preflight import check_decoder
from pipeline.config import ConfigError, load_config
from pipeline.help_text import command_parser

log = logging.getLogger("decoder_node")


def build_parser() -> argparse.ArgumentParser:
    """The decoder's argument parser."""
    parser = command_parser("stereo-pipeline decoder", __doc__)
    parser.add_argument("--config", required=True, help="decoder TOML file")
    parser.add_argument(
        "--validate-config", action="store_true", help="check the config, print it, and exit"
    )
    parser.add_argument(
        "--weights-dir", help="override codec.weights_dir: more weights sets (docs/weights.md)"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    return parser


def install_signal_handlers(stop: threading.Event) -> None:
    """First SIGTERM/SIGINT sets ``stop`` (drain); a second one exits the process at once."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(128 + signum)
        log.info("signal %s: draining (send again to exit at once)", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def main(argv: list[str] | None = None) -> int:
    """Run the decoder daemon until signalled; see the module docstring for exit codes."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(threadName)s]: %(message)s",
    )
    try:
        overrides = {} if args.weights_dir is None else {"codec.weights_dir": args.weights_dir}
        cfg = load_config(args.config, DecoderConfig, overrides)
        check_decoder(cfg)
    except ConfigError as e:
        print(f"invalid decoder config: {args.config}: {e}", file=sys.stderr)
        return 2
    if args.validate_config:
        print(f"{args.config}: OK\n{cfg}")
        return 0
    from prometheus_client import disable_created_metrics

    from decoder_node.app import DecoderApp

    disable_created_metrics()  # no *_created series: they double the exposition for nothing
    stop = threading.Event()
    install_signal_handlers(stop)
    return DecoderApp(cfg).run(stop)


if __name__ == "__main__":
    sys.exit(main())
