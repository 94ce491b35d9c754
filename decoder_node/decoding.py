"""Decode batches with the entropy decoding of the next batch overlapped with the model.

Three threads: the *entropy* thread takes a batch from the
:class:`~decoder_node.batching.DynamicBatcher` and runs ``StereoDecoder.entropy_decode`` (CPU)
into a one-slot hand-off queue; the *model* thread runs ``StereoDecoder.reconstruct`` (GPU when
present) on the previous batch and hands the decoded pairs to the *sink* thread, which writes
them (PNG encoding, publishing) while the model works on the next batch. If a batch raises (a
``BitstreamError`` or anything else), its items are decoded again one at a time, and a pair
whose pair decode fails is split into its two views, so one bad frame loses nothing else
(``docs/batching.md``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

from decoder_node.batching import DynamicBatcher
from decoder_node.frames import DecodedItem, StereoItem
from decoder_node.metrics import LATENCY_BUCKETS, FrameDrops, metric_name
from decoder_node.sinks import SinkSet
from pipeline.codec import DecodeRequest
from pipeline.codec.errors import BitstreamError, ModelMismatchError

log = logging.getLogger(__name__)

STAGES = ("entropy_decode", "synthesis", "si_finder", "si_net")
OUTBOX = 64
"""Decoded pairs waiting for the sink thread; the model thread waits when it is full."""


class BatchDecoder(Protocol):
    """What the workers need of :class:`pipeline.codec.StereoDecoder`."""

    def entropy_decode(self, requests: list[DecodeRequest]) -> Any: ...
    def reconstruct(self, latents: Any) -> Any: ...
    def decode_batch(self, requests: list[DecodeRequest]) -> Any: ...


@dataclass
class _Job:
    """One batch on its way from the entropy thread to the model thread."""

    batch: list[StereoItem]
    requests: list[DecodeRequest]
    taken_mono: float
    latents: Any = None
    entropy_s: float = 0.0
    error: BaseException | None = None


class DecodeMetrics:
    """Decode metrics, created in the daemon's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.decoded = Counter(
            metric_name("frames_decoded_total"),
            "Views decoded and handed to the sinks.",
            ("rig", "side"),
            registry=registry,
        )
        self.stage = Histogram(
            metric_name("stage_seconds"),
            "Seconds one decode batch spent in each stage.",
            ("stage",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            metric_name("batch_retries_total"),
            "Batches that failed and were decoded again one item at a time.",
            registry=registry,
        )


def drop_reason(error: BaseException) -> str:
    """The ``reason`` label for a frame lost to ``error``."""
    if isinstance(error, ModelMismatchError):
        return "model_mismatch"
    if isinstance(error, BitstreamError):
        return "bad_bitstream"
    return "decode_error"


def request_for(item: StereoItem) -> DecodeRequest:
    """The codec request of one item: left is the primary view, right the side view."""
    return DecodeRequest(
        primary=item.left.payload if item.left is not None else None,
        side=item.right.payload if item.right is not None else None,
    )


class DecodeWorkers:
    """The entropy and model threads; see the module docstring."""

    def __init__(
        self,
        decoder: BatchDecoder,
        batcher: DynamicBatcher,
        sinks: SinkSet,
        drops: FrameDrops,
        registry: CollectorRegistry,
        poll_s: float = 0.05,
    ) -> None:
        self._decoder = decoder
        self._batcher = batcher
        self._sinks = sinks
        self._drops = drops
        self._metrics = DecodeMetrics(registry)
        self._poll_s = poll_s
        self._handoff: queue.Queue[_Job | None] = queue.Queue(maxsize=1)
        self._outbox: queue.Queue[DecodedItem | None] = queue.Queue(maxsize=OUTBOX)
        self._draining = threading.Event()
        self._abort = threading.Event()
        self._threads: list[threading.Thread] = []
        self._left_over: list[StereoItem] = []
        self.frames_decoded = 0
        self.last_output_mono = time.monotonic()

    def start(self) -> None:
        """Start the three threads."""
        self._threads = [
            threading.Thread(target=self._entropy_loop, name="entropy-decode", daemon=True),
            threading.Thread(target=self._model_loop, name="model", daemon=True),
            threading.Thread(target=self._sink_loop, name="sink", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def alive(self) -> bool:
        """True while all three threads run."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def drain(self, timeout: float) -> bool:
        """Decode everything queued, then stop; False if ``timeout`` ran out first.

        Call only once nothing more will be put into the batcher.
        """
        self._draining.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def abort(self, timeout: float = 5.0) -> list[StereoItem]:
        """Stop after the batch in the model now; return the items of batches not decoded.

        Whatever is still in the batcher stays there.
        """
        self._abort.set()
        for thread in self._threads:
            thread.join(timeout)
        while True:
            try:
                job = self._handoff.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self._left_over.extend(job.batch)
        return self._left_over

    def _entropy_loop(self) -> None:
        while not self._abort.is_set():
            draining = self._draining.is_set()
            batch = self._batcher.get(self._poll_s, flush=draining)
            if batch is None:
                if draining and len(self._batcher) == 0:
                    break
                continue
            self._hand_off(self._entropy_decode(batch))
        self._hand_off(None)

    def _entropy_decode(self, batch: list[StereoItem]) -> _Job:
        job = _Job(batch, [request_for(i) for i in batch], time.monotonic())
        try:
            job.latents = self._decoder.entropy_decode(job.requests)
        except Exception as e:  # any failure: the model thread retries item by item
            job.error = e
        job.entropy_s = time.monotonic() - job.taken_mono
        return job

    def _hand_off(self, job: _Job | None) -> None:
        while True:
            try:
                self._handoff.put(job, timeout=self._poll_s)
                return
            except queue.Full:
                if self._abort.is_set():
                    if job is not None:
                        self._left_over.extend(job.batch)
                    return

    def _model_loop(self) -> None:
        try:
            self._model_jobs()
        finally:
            self._outbox.put(None)  # the sink thread writes what it has, then stops

    def _model_jobs(self) -> None:
        while True:
            try:
                job = self._handoff.get(timeout=self._poll_s)
            except queue.Empty:
                if self._abort.is_set():
                    return
                continue
            if job is None:
                return
            if self._abort.is_set():
                self._left_over.extend(job.batch)
                continue
            try:
                self._reconstruct(job)
            except Exception:  # a bug must not kill the worker; the batch is counted as lost
                log.exception("decode batch of %d failed", len(job.batch))
                for item in job.batch:
                    self._drop(item, RuntimeError("internal error"))

    def _reconstruct(self, job: _Job) -> None:
        if job.error is None:
            try:
                result = self._decoder.reconstruct(job.latents)
            except Exception as e:  # any failure: retry item by item below
                job.error = e
        if job.error is not None:
            log.warning("batch of %d failed (%s); retrying one by one", len(job.batch), job.error)
            self._metrics.retries.inc()
            for item in job.batch:
                self._decode_alone(item)
            return
        seconds = {**result.seconds.as_dict(), "entropy_decode": job.entropy_s}
        self._emit(job.batch, result.pairs, seconds, job.taken_mono)

    def _decode_alone(self, item: StereoItem) -> None:
        """Decode one item; if a pair fails, try each view by itself and drop only the bad one."""
        error = self._try_decode(item)
        if error is None:
            return
        if item.left is None or item.right is None:
            self._drop(item, error)
            return
        for view in (
            StereoItem(item.rig, item.left, None, item.ready_mono, item.queued_mono),
            StereoItem(item.rig, None, item.right, item.ready_mono, item.queued_mono),
        ):
            view_error = self._try_decode(view)
            if view_error is not None:
                self._drop(view, view_error)

    def _try_decode(self, item: StereoItem) -> BaseException | None:
        taken = time.monotonic()
        try:
            result = self._decoder.decode_batch([request_for(item)])
        except Exception as e:  # reported by the caller as a counted drop
            return e
        self._emit([item], result.pairs, result.seconds.as_dict(), taken)
        return None

    def _drop(self, item: StereoItem, error: BaseException) -> None:
        reason = drop_reason(error)
        for frame in item.frames:
            log.warning("dropping %s %s seq %d: %s", frame.rig, frame.side, frame.seq, error)
            self._drops.drop(frame.rig, frame.side, reason)

    def _emit(self, batch: list[StereoItem], pairs: list, seconds: dict, taken: float) -> None:
        for stage in STAGES:
            self._metrics.stage.labels(stage).observe(seconds.get(stage, 0.0))
        for item, pair in zip(batch, pairs, strict=True):
            timings = {"queue": max(0.0, taken - item.queued_mono), **seconds}
            self._outbox.put(DecodedItem(item, pair.left, pair.left_alone, pair.right, timings))

    def _sink_loop(self) -> None:
        """Write decoded pairs until the model thread says it is done; count them."""
        while (decoded := self._outbox.get()) is not None:
            try:
                self._sinks.write(decoded)
            except Exception:  # a bug must not kill the worker; the pair is counted as lost
                log.exception("writing seq %d failed", decoded.item.seq)
                self._drop(decoded.item, RuntimeError("internal error"))
                continue
            for frame in decoded.item.frames:
                self._metrics.decoded.labels(frame.rig, frame.side).inc()
                self.frames_decoded += 1
            self.last_output_mono = time.monotonic()
