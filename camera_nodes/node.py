"""One camera node: capture one view, timestamp, encode, and publish over ZeroMQ.

Threads: the caller's thread runs the capture loop (read -> stamp -> encode -> queue); a sender
thread takes encoded frames from a :class:`DropOldestQueue` and sends them on a PUSH socket
connected to the decoder (``docs/protocol.md``). ZeroMQ connects lazily and reconnects by
itself, so the node starts before the decoder and survives its restarts; while no decoder
takes frames, ZeroMQ holds ``sndhwm`` messages and the send queue drops its oldest frames.

Stop order (:meth:`CameraNode.run`'s ``finally``): stop capturing, let the sender drain the
queue for up to ``flush_s``, count what is left as dropped (``shutdown``), close the socket
with ``linger_ms``, release the source, and log one line of the node's frame counts
(``rig/side stopped: captured=N encoded=N sent=N keyframes_sent=N missed_slots=N
dropped_<reason>=N ...``), and close the encoder.

A video codec (``h264``, ``hevc``, ``av1``) sends each frame as protocol version 2, with the
stream position its encoder reports; with ``keyframe_requests_endpoint`` it also subscribes to
the decoder's keyframe requests, read by the capture thread before each encode
(:mod:`camera_nodes.keyframe_requests`): one for its stream makes the next frame a keyframe.
A pass-through source (a :class:`PacketSource`) runs no encoder at all: each packet is sent as
it came (:class:`~camera_nodes.frames.PacketForwarder`), read as fast as the source hands it
out (the stream paces itself; ``fps`` is not used), and keyframe requests are counted and
ignored.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import zmq

from camera_nodes.config import CameraConfig
from camera_nodes.frames import EncodedFrame, PacketForwarder, stream_link
from camera_nodes.health import Activity, camera_health
from camera_nodes.keyframe_requests import KeyframeRequests
from camera_nodes.metrics import CameraMetrics
from camera_nodes.pacing import Pacer
from camera_nodes.preflight import camera_weights
from camera_nodes.rate_control import QualityController
from camera_nodes.send_queue import DropOldestQueue
from camera_nodes.sources import (
    CapturedPacket,
    EndOfStream,
    FrameSource,
    PacketSource,
    SourceError,
    make_source,
)
from pipeline.codec.api import Role
from pipeline.codec.family import VIDEO, family_of_codec, make_encoder
from pipeline.codec.weights import named_hash
from pipeline.config import ConfigError
from pipeline.monitoring import MonitoringServer
from pipeline.security import load_keypair, load_public
from pipeline.wire import FrameHeader, encode_frame, version_for

if TYPE_CHECKING:
    from pipeline.codec.encode import Encoder

log = logging.getLogger(__name__)

MAX_READ_FAILURES = 10  # consecutive failed reads before the source is reopened


class CameraNode:
    """Runs one view of a rig from a :class:`CameraConfig` until stopped or done.

    ``encoder`` is a ``pipeline.codec.ImageEncoder``, ``StandardEncoder`` or
    ``VideoCameraEncoder`` (built from ``config.codec``, ``config.model`` and, for a video
    codec, ``config.video`` when None; closed when the node stops); ``source`` defaults to
    :func:`make_source` of ``config.source``. :meth:`stop` may be called from any thread or a
    signal handler.
    """

    def __init__(
        self,
        config: CameraConfig,
        encoder: Encoder | None = None,
        source: FrameSource | PacketSource | None = None,
        metrics: CameraMetrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics or CameraMetrics(config.rig_id, config.side)
        self._encoder = encoder
        self._encoder_name: str | None = None
        self._refused: dict[str, str] = {}  # the encoders auto passed over for it
        self._source = source or make_source(config.source, config.side, self._clock)
        self._forwarder: PacketForwarder | None = None
        self._quality = 0  # the quality the next frame is encoded at
        self._queue: DropOldestQueue[EncodedFrame] = DropOldestQueue(
            config.send_queue, link=stream_link, on_unusable=self._count_unusable
        )
        self._stop = threading.Event()
        self._capture_done = threading.Event()
        self._controller: QualityController | None = None
        self._deadline: float | None = None
        self._requests: KeyframeRequests | None = None
        self.activity = Activity()

    def stop(self) -> None:
        """Ask the node to stop capturing; :meth:`run` then flushes and returns."""
        self._stop.set()

    def run(self) -> int:
        """Capture and send until ``frames`` are done, the source ends, or :meth:`stop`.

        Returns the number of frames captured. Raises :class:`SourceError` if the source cannot
        be opened, ``ValueError`` for a quality the codec does not have and
        :class:`~pipeline.config.ConfigError` when the /metrics and /healthz port is taken.
        """
        if isinstance(self._source, PacketSource):  # the stream paces itself
            self._forwarder, pacer = self._make_forwarder(), None
            handle: Callable[[Any, int, int], None] = self._forward
        else:
            encoder = self._encoder or self._load_encoder()
            self._quality = self._check_quality(encoder)
            pacer = Pacer(self.config.fps, self.config.capture_jitter_ms)
            handle = functools.partial(self._encode_and_queue, encoder)
        server = self._serve_http()
        ctx = zmq.Context()
        sock = self._open_socket(ctx)
        self._open_requests(ctx)
        sender = threading.Thread(target=self._send_loop, args=(sock,), name="camera-sender")
        try:
            with self._source:
                sender.start()
                self.activity.state = "ok"
                return self._capture_loop(pacer, handle)
        finally:
            self._shutdown(sender, sock, ctx, server)

    def health(self) -> dict:
        """The ``/healthz`` document (:mod:`camera_nodes.health`)."""
        video = None
        if self.config.is_video:
            video = {"encoder": self._encoder_name, "refused": self._refused}
        return camera_health(self.config, self.metrics, self.activity, self._model_id(), video)

    def _clock(self) -> int:
        """The camera clock: wall time in nanoseconds plus ``clock_offset_ns``."""
        return time.time_ns() + self.config.clock_offset_ns

    def _serve_http(self) -> MonitoringServer | None:
        """Start /metrics and /healthz (``ConfigError`` when the port is taken); None when off."""
        if self.config.http_port == 0:
            return None
        cfg = self.config
        try:
            server = MonitoringServer(
                cfg.metrics_addr, cfg.http_port, self.metrics.registry, self.health
            )
        except OSError as e:
            raise ConfigError(
                "metrics_port", f"cannot serve on {cfg.metrics_addr}:{cfg.http_port}: {e}"
            ) from e
        server.start()
        log.info("http: /metrics and /healthz on %s:%d", self.config.metrics_addr, server.port)
        return server

    def _load_encoder(self) -> Encoder:
        if family_of_codec(self.config.codec).encodes_with_torch:  # docs/install.md
            import torch

            torch.set_num_threads(self.config.encode_threads)
        cfg, weights = self.config, camera_weights(self.config)
        if cfg.is_video:
            settings = cfg.video_settings()
            self._encoder = VIDEO.make_encoder(cfg.codec, cfg.model, weights, settings)
        else:
            self._encoder = make_encoder(cfg.codec, cfg.model, weights)
        log.info("encoding with %s", "the built-in weights" if weights is None else weights.path)
        return self._encoder

    def _make_forwarder(self) -> PacketForwarder:
        """How a pass-through source's packets become frames: the camera codec's model id and
        the weights hash its encoder would name (``weights_dir``'s file, else the built-in)."""
        cfg = self.config
        model_id = VIDEO.model_id(cfg.codec, cfg.model)
        weights = camera_weights(cfg)
        digest = weights.digest if weights else named_hash(VIDEO.weights_of_model(model_id))
        log.info("passing %s packets through as %s: no encoder runs", cfg.codec, model_id)
        return PacketForwarder(cfg.codec, model_id, digest, self._role())

    def _role(self) -> Role:
        return Role.PRIMARY if self.config.side == "left" else Role.SIDE

    def _check_quality(self, encoder) -> int:
        cfg, qualities = self.config, tuple(encoder.qualities)
        quality = encoder.default_quality if cfg.quality is None else cfg.quality
        if quality not in qualities:
            raise ValueError(
                f"quality {quality} not in the {self.config.codec} codec's "
                f"{qualities[0]}..{qualities[-1]}"
            )
        if cfg.target_kbps > 0:
            self._controller = QualityController(qualities, cfg.target_kbps, cfg.fps, quality)
        return quality

    def _open_socket(self, ctx: zmq.Context) -> zmq.Socket:
        sock = ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.SNDHWM, self.config.sndhwm)
        sock.setsockopt(zmq.LINGER, self.config.linger_ms)
        self._secure(sock)
        endpoint = self.config.decoder_endpoint
        sock.connect(endpoint)
        log.info("%s/%s pushing to %s", self.config.rig_id, self.config.side, endpoint)
        return sock

    def _secure(self, sock: zmq.Socket) -> None:
        """Make ``sock`` a CURVE client with this camera's keys, when it has them."""
        if self.config.secret_key is not None and self.config.server_key is not None:
            public, secret = load_keypair("secret_key", self.config.secret_key)
            sock.curve_publickey, sock.curve_secretkey = public, secret
            sock.curve_serverkey = load_public("server_key", self.config.server_key)

    def _open_requests(self, ctx: zmq.Context) -> None:
        """Subscribe to the decoder's keyframe requests, when configured."""
        endpoint = self.config.request_endpoint
        if not endpoint:
            return
        cfg, counters = self.config, self.metrics.keyframe_requests
        self._requests = KeyframeRequests(endpoint, cfg.rig_id, cfg.side, counters, self._secure)
        self._requests.open(ctx)

    def _capture_loop(self, pacer: Pacer | None, handle: Callable[[Any, int, int], None]) -> int:
        """Read the source (at ``pacer``'s times, if any) until ``frames``, its end or
        :meth:`stop`; ``handle(item, capture_ns, index)`` each frame or packet read."""
        cfg, captured, failures = self.config, 0, 0
        while not self._stop.is_set() and (cfg.frames == 0 or captured < cfg.frames):
            if pacer is not None:
                self.metrics.missed.inc(pacer.wait(self._stop))
                if self._stop.is_set():
                    break
            try:
                item, capture_ns = self._capture()
            except EndOfStream as e:
                log.info("source ended: %s", e)
                break
            except SourceError as e:
                failures = self._on_read_failure(e, failures + 1)
                continue
            failures, captured = 0, captured + 1
            handle(item, capture_ns, captured - 1)
        self._capture_done.set()
        return captured

    def _capture(self):
        started = time.monotonic()
        item = self._source.read()
        capture_ns = self._clock()
        self.activity.last_capture = done = time.monotonic()
        self.metrics.capture_seconds.observe(done - started)
        self.metrics.captured.inc()
        return item, capture_ns

    def _forward(self, packet: CapturedPacket, capture_ns: int, index: int) -> None:
        """Queue a pass-through packet as frame ``index``, stamped with its own capture time
        (the stream's, mapped to the camera clock) rather than its read time ``capture_ns``."""
        self._queue.take_keyframe_request()  # a stream coded elsewhere: its next keyframe
        if self._requests is not None:
            self._requests.ignore_all()
        item = self._forwarder.frame(packet, index)
        self.metrics.quality.set(item.quality)
        self._enqueue(item)

    def _on_read_failure(self, error: SourceError, failures: int) -> int:
        self.metrics.dropped["capture_error"].inc()
        log.warning("capture failed (%d in a row): %s", failures, error)
        if failures < MAX_READ_FAILURES:
            self._stop.wait(0.05)
            return failures
        log.warning("reopening the source after %d failed reads", failures)
        self._source.disconnect()
        try:
            self._source.connect()
        except SourceError as e:
            log.error("cannot reopen the source: %s", e)
            self._stop.wait(1.0)
        return 0

    def _count_unusable(self, item: EncodedFrame) -> None:
        """A queued video frame dropped because a frame it depends on was dropped."""
        self.metrics.dropped["awaiting_keyframe"].inc()

    def _encode_and_queue(self, encoder, frame, capture_ns: int, index: int) -> None:
        """Encode a captured frame at the current quality, queue it, and let the rate
        controller (if any) pick the next quality."""
        role, quality = self._role(), self._quality
        if self._queue.take_keyframe_request():  # only a video stream's drop raises one
            encoder.force_keyframe()
            self.metrics.keyframes_forced.inc()
        if self._requests is not None and self._requests.take():
            encoder.force_keyframe()
        started = time.monotonic()
        try:
            data = encoder.encode(frame.image, role=role, quality=quality)
        except Exception as e:  # a bad frame must not stop the camera; it is counted
            self.metrics.dropped["encode_error"].inc()
            log.warning("encode failed for seq %d: %s", frame.seq, e)
            return
        done = time.monotonic()
        self.metrics.encode_seconds.observe(done - started)
        self.metrics.encoded.inc()
        self.metrics.encoded_bytes.inc(len(data))
        self.metrics.quality.set(quality)
        stream = getattr(encoder, "stream", None)  # a video encoder's packet position
        if stream is not None:
            self._note_encoder(encoder)
            if self._requests is not None:
                self._requests.coded(stream)
        h, w = frame.image.shape[:2]
        channels = 1 if frame.image.ndim == 2 else frame.image.shape[2]
        self._enqueue(EncodedFrame(frame.seq, capture_ns, quality, h, w, channels, data, stream))
        if self._controller is not None:
            self._quality = self._controller.observe(len(data), done)

    def _enqueue(self, item: EncodedFrame) -> None:
        if self._queue.put(item) is not None:
            self.metrics.dropped["queue_full"].inc()
        self.metrics.queue_depth.set(len(self._queue))

    def _note_encoder(self, encoder) -> None:
        """Log and export the FFmpeg encoder a video stream opened (``auto``'s choice, and
        the ones it passed over) when it is new: on the first frame and on a new stream."""
        name = encoder.encoder_name
        if name == self._encoder_name:
            return
        self._encoder_name, self._refused = name, dict(encoder.refused)
        self.metrics.set_encoder(self.config.codec, name)
        refused = "; ".join(f"{n}: {why}" for n, why in self._refused.items()) or "none"
        log.info("%s encoder %s (passed over: %s)", self.config.codec, name, refused)

    def _send_loop(self, sock: zmq.Socket) -> None:
        """Send queued frames until capture is done and the queue is flushed (or time is up)."""
        model_id = self._model_id()
        try:
            while not self._flush_over():
                item = self._queue.get(timeout=0.05)
                self.metrics.queue_depth.set(len(self._queue))
                if item is not None and not self._send(sock, item, model_id):
                    self.metrics.dropped["shutdown"].inc()
        except zmq.ZMQError as e:  # the socket went away under us: nothing more can be sent
            log.error("sender stopped: %s", e)

    def _flush_deadline(self) -> float | None:
        """When flushing must end: ``flush_s`` after capture stopped (fixed once known)."""
        if self._deadline is None and self._capture_done.is_set():
            self._deadline = time.monotonic() + self.config.flush_s
        return self._deadline

    def _flush_over(self) -> bool:
        deadline = self._flush_deadline()
        return deadline is not None and (time.monotonic() >= deadline or not len(self._queue))

    def _model_id(self) -> str:
        if self._forwarder is not None:
            return self._forwarder.model_id
        encoder = self._encoder
        return str(getattr(encoder, "model_id", self.config.model or "unknown"))

    def _send(self, sock: zmq.Socket, item: EncodedFrame, model_id: str) -> bool:
        """Send one frame, waiting for ZeroMQ room; False if the flush time ran out first."""
        while not sock.poll(50, zmq.POLLOUT):
            deadline = self._flush_deadline()
            if deadline is not None and time.monotonic() >= deadline:
                return False
        header = FrameHeader(
            version=version_for(item.stream),
            rig_id=self.config.rig_id,
            side=self.config.side,
            seq=item.seq,
            capture_ns=item.capture_ns,
            send_ns=self._clock(),
            model_id=model_id,
            quality=item.quality,
            height=item.height,
            width=item.width,
            channels=item.channels,
            stream=item.stream,
        )
        sock.send_multipart(encode_frame(header, item.bitstream), copy=False)
        self.metrics.sent.inc()
        self.metrics.sent_bytes.inc(len(item.bitstream))
        if item.stream is not None and item.stream.keyframe:
            self.metrics.keyframes_sent.inc()
        self.activity.last_send = time.monotonic()
        return True

    def _shutdown(self, sender: threading.Thread, sock, ctx, server) -> None:
        self.activity.state = "stopping"
        self._stop.set()
        self._capture_done.set()
        if sender.is_alive():
            sender.join(self.config.flush_s + 2.0)
        left = self._queue.drain()
        self.metrics.dropped["shutdown"].inc(len(left))
        self.metrics.queue_depth.set(0)
        sock.close(linger=self.config.linger_ms)
        if self._requests is not None:
            self._requests.close()
        ctx.term()
        close = getattr(self._encoder, "close", None)  # a video encoder ends its stream
        if close is not None:
            close()
        self.activity.state = "stopped"
        if server is not None:
            server.stop()
        counts = " ".join(f"{k}={v}" for k, v in self.metrics.totals().items())
        log.info("%s/%s stopped: %s", self.config.rig_id, self.config.side, counts)
