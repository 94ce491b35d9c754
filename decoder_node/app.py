"""The decoder daemon: a flat list of named start steps and a fixed-order stop.

Data path: PULL socket -> checks -> :class:`Pairer` -> :class:`DynamicBatcher` -> entropy thread
-> model thread -> sinks. ``stop()`` runs from a ``finally`` in :meth:`DecoderApp.run`: stop
receiving and close the socket (cameras then hold what they send next), release waiting frames
to the batcher, drain the decode workers (bounded by ``drain_timeout_s``), close the sinks and
the HTTP server.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import zmq
from prometheus_client import CollectorRegistry

import pipeline
from decoder_node.auth import CAMERAS, REQUESTS, SINK, Curve, publish_exposure, refused_counter
from decoder_node.batching import DynamicBatcher
from decoder_node.config import DecoderConfig, ZmqSinkConfig
from decoder_node.decode_workers import BatchDecoder, DecodeWorkers
from decoder_node.frames import StereoItem
from decoder_node.health import health_document
from decoder_node.keyframe_requests import KeyframeRequester
from decoder_node.metrics import (
    FrameDrops,
    final_counts,
    publish_build_info,
    publish_entropy_check,
    publish_weights,
)
from decoder_node.pairing import Pairer
from decoder_node.preflight import check_entropy_decoder, open_endpoints
from decoder_node.receiver import Receiver
from decoder_node.shard import ShardFilter
from decoder_node.sinks import SinkSet, build_sink
from decoder_node.watchdog import Watchdog
from pipeline.config import ConfigError
from pipeline.monitoring import MonitoringServer, process_registry

log = logging.getLogger(__name__)


class DecoderApp:
    """One decoder daemon instance with its own metrics registry and ZeroMQ context.

    ``decoder`` may be passed in (tests); otherwise a :class:`pipeline.codec.StereoDecoder` is
    built from ``cfg.codec``.
    """

    def __init__(
        self,
        cfg: DecoderConfig,
        registry: CollectorRegistry | None = None,
        decoder: BatchDecoder | None = None,
    ) -> None:
        self.cfg = cfg
        self.registry = registry or process_registry()
        self.state = "starting"
        self.failure: str | None = None
        self._decoder = decoder
        self._stop_receiving = threading.Event()
        self.started_mono = time.monotonic()
        self._context: zmq.Context | None = None
        self._drops: FrameDrops | None = None
        self._sinks: SinkSet | None = None
        self._pairer: Pairer | None = None
        self._batcher: DynamicBatcher | None = None
        self._receiver: Receiver | None = None
        self._requests: KeyframeRequester | None = None
        self._workers: DecodeWorkers | None = None
        self._http: MonitoringServer | None = None
        self._receive_thread: threading.Thread | None = None
        self._watchdog = Watchdog(self.registry, cfg.max_thread_restarts)
        self._curve: Curve | None = None
        self._weights: list[tuple[str, str]] = []
        self.entropy_bounds_checked: bool | None = None
        """Whether entropy decoding checks its reads (None until the codec is set up)."""

    # -- start ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run the start steps in order; raises (after logging the step) if one fails."""
        steps = (
            ("metrics", self._init_metrics),
            ("zeromq context", self._init_context),
            ("codec", self._init_codec),
            ("sinks", self._init_sinks),
            ("pairer and batcher", self._init_queues),
            ("keyframe request socket", self._init_requests),
            ("receive socket", self._init_receiver),
            ("http server", self._start_http),
            ("decode workers", self._start_workers),
            ("receive loop", self._start_receiving),
        )
        for name, step in steps:
            log.info("start: %s", name)
            try:
                step()
            except ConfigError as e:  # the configuration or the host: one line, no traceback
                log.error("start step %r failed: %s", name, e)
                self.state, self.failure = "failed", str(e)
                raise
            except Exception:
                log.exception("start step %r failed", name)
                self.state = "failed"
                raise
        self.state = "ok"
        log.info("decoder ready: receiving on %s", self.endpoint)

    def _init_metrics(self) -> None:
        self._drops = FrameDrops(self.registry)

    def _init_context(self) -> None:
        self._context = zmq.Context()
        security, refused = self.cfg.security, refused_counter(self.registry)
        if security.enabled:
            publishes = any(isinstance(sink, ZmqSinkConfig) for sink in self.cfg.sinks)
            self._curve = Curve(security, refused, publishes)
            self._curve.start(self._context)
            log.info("security: CURVE on, cameras %s", security.cameras)
            if publishes:
                log.info("security: PUB sink subscribers %s", security.subscribers)
        legacy = self._curve.legacy_keys if self._curve is not None else []
        for key in legacy:
            log.warning(
                "security: an allowed key of rig %s names no side and may send either: "
                "regenerate it with --side (docs/security.md, Upgrading)",
                key.rig,
            )
        exposed = open_endpoints(self.cfg)
        if exposed:
            log.warning(
                "security off: %s served without CURVE on a non-loopback address "
                "([security] allow_insecure)",
                ", ".join(exposed),
            )
        publish_exposure(self.registry, len(exposed), len(legacy))

    def _init_codec(self) -> None:
        if self.cfg.codec.torch_threads:
            import torch

            torch.set_num_threads(self.cfg.codec.torch_threads)
        if self._decoder is None:
            from pipeline.codec import StereoDecoder
            from pipeline.codec.bitstream.errors import WeightsError
            from pipeline.codec.model.si_track import DEFAULT_WARM_START

            codec = self.cfg.codec
            try:
                self._decoder = StereoDecoder(
                    codec.model or None,
                    codec.device,
                    self_ensemble=codec.self_ensemble,
                    limits=self.cfg.limits.image_limits(),
                    precision=codec.precision,
                    weights_dir=codec.weights_dir,
                    warm_start=DEFAULT_WARM_START if codec.si_warm_start else None,
                )
            except WeightsError as e:
                key = "codec.weights_dir" if codec.weights_dir else "codec.model"
                raise ConfigError(key, str(e)) from e
        device = str(getattr(self._decoder, "device", "unknown"))
        model_id = str(getattr(self._decoder, "model_id", self.cfg.codec.model or "default"))
        publish_build_info(self.registry, pipeline.__version__, device, model_id)
        self._weights = publish_weights(self.registry, self._decoder)
        log.info("weights sets served: %s", ", ".join(" ".join(k) for k in self._weights))
        from pipeline.codec.entropy import rans

        check_entropy_decoder()
        self.entropy_bounds_checked = rans.BOUNDS_CHECKED
        publish_entropy_check(self.registry, rans.BOUNDS_CHECKED)
        if not rans.BOUNDS_CHECKED:
            log.warning(
                "numba is not installed: entropy decoding does not check its reads (%s=1)",
                rans.ALLOW_UNCHECKED_ENV,
            )
        ensemble = getattr(self._decoder, "self_ensemble", "?")
        dtype = getattr(self._decoder, "dtype", "?")
        log.info(
            "codec: model %s on %s, SI-Net self-ensemble %s, %s", model_id, device, ensemble, dtype
        )

    def _init_sinks(self) -> None:
        secure = None if self._curve is None else (lambda s: self._curve.secure(s, SINK))
        sinks = [build_sink(c, self._context, secure) for c in self.cfg.sinks]
        self._sinks = SinkSet(sinks, self.registry)
        try:
            self._sinks.open()
        except (OSError, zmq.ZMQError) as e:
            raise ConfigError("sinks", f"a sink cannot open: {e}") from e

    def _init_queues(self) -> None:
        assert self._drops is not None
        self._pairer = Pairer(self.cfg.pairing, self._drops, self.registry)
        self._batcher = DynamicBatcher(self.cfg.batching, self._drops, self.registry)

    def _init_requests(self) -> None:
        cfg = self.cfg.keyframe_requests
        secure = None if self._curve is None else (lambda s: self._curve.secure(s, REQUESTS))
        # made when off too: its counter is part of the documented exposition
        self._requests = KeyframeRequester(
            cfg, self.registry, self._drops.rigs, self._context, secure
        )
        if not cfg.bind:
            return
        try:
            self._requests.open()
        except zmq.ZMQError as e:
            raise ConfigError("keyframe_requests.bind", f"cannot bind {cfg.bind}: {e}") from e
        log.info("keyframe requests: publishing on %s", self._requests.endpoint)

    def _init_receiver(self) -> None:
        assert None not in (self._pairer, self._batcher, self._drops, self._context)
        self._receiver = Receiver(
            self.cfg.receiver,
            self._pairer,
            self._batcher.put,
            self._drops,
            self.registry,
            self._context,
            self.cfg.limits.image_limits(),
            None if self._curve is None else (lambda s: self._curve.secure(s, CAMERAS)),
            ShardFilter.from_config(self.cfg.shard).owns,
            self._nvdec(),
            self._requests,
        )
        try:
            self._receiver.open()
        except zmq.ZMQError as e:
            raise ConfigError("receiver.bind", f"cannot bind {self.cfg.receiver.bind}: {e}") from e

    def _nvdec(self) -> bool:
        """Whether video streams try NVDEC: ``[codec] nvdec`` and a CUDA device."""
        device = getattr(self._decoder, "device", None)
        return self.cfg.codec.nvdec and getattr(device, "type", "") == "cuda"

    def _start_http(self) -> None:
        http = self.cfg.http
        if http.enabled:
            try:
                self._http = MonitoringServer(http.host, http.port, self.registry, self.health)
            except OSError as e:
                where = f"{http.host}:{http.port}"
                raise ConfigError("http.port", f"cannot serve on {where}: {e}") from e
            self._http.start()
            log.info("http: /metrics and /healthz on %s:%d", http.host, self._http.port)

    def _start_workers(self) -> None:
        assert None not in (self._decoder, self._batcher, self._sinks, self._drops)
        self._workers = DecodeWorkers(
            self._decoder,
            self._batcher,
            self._sinks,
            self._drops,
            self.registry,
            weights=self._weights,
        )
        self._workers.start()

    def _start_receiving(self) -> None:
        assert self._receiver is not None
        self._receive_thread = threading.Thread(
            target=self._receiver.run, args=(self._stop_receiving,), name="receive", daemon=True
        )
        self._receive_thread.start()

    # -- run and stop --------------------------------------------------------------------

    def run(self, stop_requested: threading.Event, check_interval: float = 0.5) -> int:
        """Start, wait for ``stop_requested``, then stop; 0 on a requested stop, 1 on failure,
        2 when the configuration or the host stopped the start (logged in one line)."""
        code = 0
        try:
            self.start()
            while not stop_requested.wait(check_interval):
                if not self.threads_alive() and not self._revive():
                    self.failure, code = self._watchdog.failure, 1
                    break
        except ConfigError:
            code = 2
        except Exception:
            code = 1
        finally:
            self.stop()
        return code

    def _revive(self) -> bool:
        assert self._workers is not None
        return self._watchdog.revive(self._workers, self._receive_thread, self._start_receiving)

    def threads_alive(self) -> bool:
        """True while the receive loop and both decode workers run."""
        receiving = self._receive_thread is not None and self._receive_thread.is_alive()
        return receiving and self._workers is not None and self._workers.alive

    def stop(self) -> None:
        """Stop in a fixed order; safe after a partial start and safe to call twice."""
        if self.state == "stopped":
            return
        if self.state != "failed":
            self.state = "draining"
        log.info("stop: receiving")
        self._stop_receiving.set()
        if self._receive_thread is not None:
            self._receive_thread.join(5.0)
        thread = self._receive_thread
        if thread is not None and not thread.is_alive() and self._receiver is not None:
            self._receiver.close()  # now: what cameras send next waits in them, not in our queue
        log.info("stop: releasing unmatched frames")
        self._release_waiting()
        log.info("stop: draining decode workers")
        self._drain_workers()
        log.info("stop: closing sinks, socket, http")
        if self._sinks is not None:
            self._sinks.close()
        if self._receiver is not None:
            self._receiver.close()
        if self._requests is not None:
            self._requests.close()
        if self._http is not None:
            self._http.stop()
        if self._curve is not None:
            self._curve.stop()
        if self._context is not None:
            self._context.destroy(linger=0)
        self.state = "stopped"
        rigs = self._drops.rigs if self._drops is not None else None
        counts = " ".join(f"{k}={v}" for k, v in final_counts(self.registry, rigs).items())
        log.info("decoder stopped: %s", counts)

    def _release_waiting(self) -> None:
        if self._pairer is None or self._batcher is None:
            return
        for item in self._pairer.flush(time.monotonic()):
            self._batcher.put(item)

    def _drain_workers(self) -> None:
        if self._workers is None:
            return
        if self._workers.started and not self._workers.alive:  # a dead thread cannot drain
            log.warning("a decode thread is dead; dropping what is queued")
            self._drop_all(self._workers.abort())
        elif not self._workers.drain(self.cfg.drain_timeout_s):
            log.warning("drain timed out after %.1f s; dropping the rest", self.cfg.drain_timeout_s)
            self._drop_all(self._workers.abort())
        if self._batcher is not None and self._drops is not None:
            self._drop_all(self._batcher.take_all())

    def _drop_all(self, items: list[StereoItem]) -> None:
        assert self._drops is not None
        for item in items:
            for frame in item.frames:
                self._drops.drop(frame.rig, frame.side, "shutdown")

    # -- introspection -------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The receive endpoint actually bound."""
        return self._receiver.endpoint if self._receiver else self.cfg.receiver.bind

    @property
    def http_port(self) -> int | None:
        """The HTTP port actually bound, or None when disabled or not started."""
        return self._http.port if self._http else None

    def health(self) -> dict[str, Any]:
        """The ``/healthz`` document; ``status`` is ``ok`` only when all is well."""
        return health_document(self, self._batcher, self._workers, self._decoder)
