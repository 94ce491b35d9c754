"""Decode batches with the entropy decoding of the next batch overlapped with the model.

Three threads: the *entropy* thread takes a batch from the
:class:`~decoder_node.batching.DynamicBatcher` and runs ``StereoDecoder.entropy_decode`` (CPU;
on a CPU decoder also the SI-Finder of the pairs whose views are pixels, standard and video
codecs, so that it searches while the model fuses the batch before) into a one-slot hand-off
queue; the *model* thread runs ``StereoDecoder.reconstruct`` (GPU when
present) on the previous batch and hands the decoded pairs to the *sink* thread, which writes
them (PNG encoding, publishing) while the model works on the next batch. If a batch raises (a
``BitstreamError`` or anything else), its items are decoded again one at a time, and a pair
whose pair decode fails is split into its two views, so one bad frame loses nothing else
(``docs/batching.md``); a batch the device has no memory for is decoded again as two halves.

Here too: what the threads need of the decoder (:class:`BatchDecoder`), the batch in flight
between them (:class:`Job`), how a failure is judged (:func:`drop_reason`,
:func:`out_of_memory`), and their metrics (:class:`DecodeMetrics`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

from decoder_node.batching import DynamicBatcher
from decoder_node.frames import DecodedItem, ReceivedFrame, StereoItem
from decoder_node.metrics import LATENCY_BUCKETS, SIDES, FrameDrops, RigSeries, metric_name
from decoder_node.sinks import SinkSet
from pipeline.codec import DecodeRequest
from pipeline.codec.api import StreamPosition
from pipeline.codec.bitstream.errors import BitstreamError, ModelMismatchError
from pipeline.codec.family import weights_of_model

log = logging.getLogger(__name__)

OUTBOX = 64
"""Decoded pairs waiting for the sink thread; the model thread waits when it is full."""
STAGES = ("entropy_decode", "synthesis", "si_finder", "si_net")
"""The ``stage`` label values of ``stage_seconds``."""
SEARCHES = ("full", "warm")
"""The ``search`` label values of ``si_searches_total`` (:data:`pipeline.codec.model.si_track.
Search`)."""


class DecodeMetrics:
    """Decode metrics, created in the daemon's registry; ``decoded`` is tracked in ``rigs`` (a
    rig's series at zero from its first frame, removed with its slot)."""

    def __init__(self, registry: CollectorRegistry, rigs: RigSeries) -> None:
        self.decoded = Counter(
            metric_name("frames_decoded_total"),
            "Views decoded and handed to the sinks.",
            ("rig", "side"),
            registry=registry,
        )
        self.by_weights = Counter(
            metric_name("frames_decoded_by_weights_total"),
            "Views decoded, by the weights set (model id or SI-Net, hash) that decoded them.",
            ("weights", "weights_hash"),
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
        self.oom_splits = Counter(
            metric_name("batch_oom_splits_total"),
            "Batches the device had no memory for, decoded again as two halves.",
            registry=registry,
        )
        self.searches = Counter(
            metric_name("si_searches_total"),
            "SI-Finder searches of a pair, by how: full, or warm (each block near its match in "
            "the rig's previous pair, in full where that missed).",
            ("search",),
            registry=registry,
        )
        for stage in STAGES:
            self.stage.labels(stage)
        for search in SEARCHES:
            self.searches.labels(search)
        rigs.track(self.decoded, SIDES)
        self._rigs = rigs

    def count_decoded(self, frame: ReceivedFrame) -> None:
        """Count one decoded view (a view of a rig released meanwhile counts nowhere)."""
        child = self._rigs.labels(self.decoded, frame.rig, frame.side)
        if child is not None:
            child.inc()


def weights_of(frame: ReceivedFrame) -> tuple[str, str]:
    """(weights name, hash) of the set that decodes ``frame``: its model id, or for a standard
    codec (``jpeg-si1`` ...) the SI-Net the id names (``si-std1``)."""
    return weights_of_model(frame.header.model_id), frame.weights_hash


def drop_reason(error: BaseException) -> str:
    """The ``reason`` label for a frame lost to ``error``."""
    if isinstance(error, ModelMismatchError):
        return "model_mismatch"
    if isinstance(error, BitstreamError):
        return "bad_bitstream"
    return "decode_error"


def out_of_memory(error: BaseException) -> bool:
    """True for a device's out-of-memory error (CUDA's, or a CPU allocator's)."""
    import torch

    return isinstance(error, torch.cuda.OutOfMemoryError | MemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error)
    )


def free_device_memory() -> None:
    """Return the device's cached blocks before a batch is retried in halves (CUDA only)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class BatchDecoder(Protocol):
    """What the workers need of :class:`pipeline.codec.StereoDecoder`."""

    def entropy_decode(self, requests: list[DecodeRequest]) -> Any: ...
    def reconstruct(self, latents: Any) -> Any: ...
    def decode_batch(self, requests: list[DecodeRequest]) -> Any: ...
    def forget(self, stream: str) -> None: ...


@dataclass
class Job:
    """One batch on its way from the entropy thread to the model thread."""

    batch: list[StereoItem]
    requests: list[DecodeRequest]
    taken_mono: float
    latents: Any = None
    entropy_s: float = 0.0
    error: BaseException | None = None


def request_for(item: StereoItem) -> DecodeRequest:
    """The codec request of one item: left is the primary view, right the side view; a video
    view's pixels, decoded at receive, go with it (never decoded again here); its place in the
    rig's stream of pairs (for the SI-Finder's warm start)."""
    left, right = item.left, item.right
    return DecodeRequest(
        primary=left.payload if left is not None else None,
        side=right.payload if right is not None else None,
        primary_pixels=left.pixels if left is not None else None,
        side_pixels=right.pixels if right is not None else None,
        position=position_of(item),
    )


def position_of(item: StereoItem) -> StreamPosition:
    """The item's place in its rig's stream: its seq, in the epoch of the left camera's video
    stream (a new stream id after a restart; 0 for image codecs)."""
    stream = item.frames[0].header.stream
    return StreamPosition(item.rig, item.seq, 0 if stream is None else stream.id)


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
        weights: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._decoder = decoder
        self._batcher = batcher
        self._sinks = sinks
        self._drops = drops
        self._metrics = DecodeMetrics(registry, drops.rigs)
        drops.rigs.on_release(decoder.forget)  # a released rig's SI-Finder state goes too
        for name, digest in weights:  # the sets served: their counters start at zero
            self._metrics.by_weights.labels(name, digest)
        self._poll_s = poll_s
        self._handoff: queue.Queue[Job | None] = queue.Queue(maxsize=1)
        self._outbox: queue.Queue[DecodedItem | None] = queue.Queue(maxsize=OUTBOX)
        self._draining = threading.Event()
        self._abort = threading.Event()
        self._threads: list[threading.Thread] = []
        self._left_over: list[StereoItem] = []
        self._busy: dict[str, list[StereoItem]] = {}  # thread name -> the items it holds
        self.frames_decoded = 0
        self.last_output_mono = time.monotonic()

    def start(self) -> None:
        """Start the three threads."""
        self._threads = [self._thread(name) for name in self._targets()]
        for thread in self._threads:
            thread.start()

    def _targets(self) -> dict[str, Any]:
        return {
            "entropy-decode": self._entropy_loop,
            "model": self._model_loop,
            "sink": self._sink_loop,
        }

    def _thread(self, name: str) -> threading.Thread:
        return threading.Thread(target=self._targets()[name], name=name, daemon=True)

    def revive(self) -> list[str]:
        """Start again every thread that died (a bug escaped its loop); the items it held are
        counted as dropped (``decode_error``). Returns the names of the threads started."""
        revived = []
        for index, thread in enumerate(self._threads):
            if thread.is_alive():
                continue
            lost = self._busy.pop(thread.name, [])
            log.error("thread %s died holding %d items; starting it again", thread.name, len(lost))
            for item in lost:
                self._drop(item, RuntimeError("worker thread died"))
            self._threads[index] = self._thread(thread.name)
            self._threads[index].start()
            revived.append(thread.name)
        return revived

    @property
    def started(self) -> bool:
        """True once :meth:`start` has run."""
        return bool(self._threads)

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
        if not any(t.name == "model" and t.is_alive() for t in self._threads):
            self._outbox.put(None)  # no model thread will tell the sink thread to stop
        for thread in self._threads:
            thread.join(timeout)
        self._left_over.extend(item for items in self._busy.values() for item in items)
        self._busy.clear()
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
            self._busy["entropy-decode"] = batch
            self._hand_off(self._entropy_decode(batch))
            self._busy.pop("entropy-decode", None)
        self._hand_off(None)

    def _entropy_decode(self, batch: list[StereoItem]) -> Job:
        job = Job(batch, [request_for(i) for i in batch], time.monotonic())
        try:
            job.latents = self._decoder.entropy_decode(job.requests)
        except Exception as e:  # any failure: the model thread retries item by item
            job.error = e
        # the SI-Finder's early search (a CPU decoder's pixel pairs) counts as its own stage
        early = getattr(job.latents, "early", None)
        searched = early.seconds if early is not None else 0.0
        job.entropy_s = time.monotonic() - job.taken_mono - searched
        return job

    def _hand_off(self, job: Job | None) -> None:
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
        self._model_jobs()  # returns when drained or aborted; if it dies, the sink waits
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
            self._busy["model"] = job.batch
            try:
                self._reconstruct(job)
            except Exception:  # a bug must not kill the worker; the batch is counted as lost
                log.exception("decode batch of %d failed", len(job.batch))
                for item in job.batch:
                    self._drop(item, RuntimeError("internal error"))
            self._busy.pop("model", None)

    def _reconstruct(self, job: Job) -> None:
        if job.error is None:
            try:
                result = self._decoder.reconstruct(job.latents)
            except Exception as e:  # any failure: retry item by item below
                job.error = e
        if job.error is not None and out_of_memory(job.error) and len(job.batch) > 1:
            self._split(job.batch)
            return
        if job.error is not None:
            log.warning("batch of %d failed (%s); retrying one by one", len(job.batch), job.error)
            self._metrics.retries.inc()
            for item in job.batch:
                self._decode_alone(item)
            return
        seconds = {**result.seconds.as_dict(), "entropy_decode": job.entropy_s}
        self._emit(job.batch, result.pairs, seconds, job.taken_mono)

    def _split(self, batch: list[StereoItem]) -> None:
        """Decode a batch the device had no memory for as two halves (each split again if it
        runs out too; a single item that does not fit is dropped as ``decode_error``)."""
        self._metrics.oom_splits.inc()
        free_device_memory()
        half = len(batch) // 2
        log.warning(
            "out of memory on a batch of %d: decoding %d and %d",
            len(batch),
            half,
            len(batch) - half,
        )
        for part in (batch[:half], batch[half:]):
            taken = time.monotonic()
            try:
                result = self._decoder.decode_batch([request_for(i) for i in part])
            except Exception as e:  # halve again, or one by one for any other failure
                if out_of_memory(e) and len(part) > 1:
                    self._split(part)
                else:
                    for item in part:
                        self._decode_alone(item)
                continue
            self._emit(part, result.pairs, result.seconds.as_dict(), taken)

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
        if reason == "decode_error" and error.__traceback__ is not None:  # a bug, not bad input
            log.error("decoding %s seq %d failed", item.rig, item.seq, exc_info=error)
        for frame in item.frames:
            log.warning("dropping %s %s seq %d: %s", frame.rig, frame.side, frame.seq, error)
            self._drops.drop(frame.rig, frame.side, reason)

    def _emit(self, batch: list[StereoItem], pairs: list, seconds: dict, taken: float) -> None:
        for stage in STAGES:
            self._metrics.stage.labels(stage).observe(seconds.get(stage, 0.0))
        for item, pair in zip(batch, pairs, strict=True):
            if pair.search is not None:
                self._metrics.searches.labels(pair.search).inc()
            timings = {"queue": max(0.0, taken - item.queued_mono), **seconds}
            if any(frame.pixels is not None for frame in item.frames):
                timings["stream_decode"] = sum(frame.stream_s for frame in item.frames)
            self._outbox.put(DecodedItem(item, pair.left, pair.left_alone, pair.right, timings))

    def _sink_loop(self) -> None:
        """Write decoded pairs until the model thread says it is done; count them."""
        while (decoded := self._outbox.get()) is not None:
            self._busy["sink"] = [decoded.item]
            try:
                self._sinks.write(decoded)
            except Exception:  # a bug must not kill the worker; the pair is counted as lost
                log.exception("writing seq %d failed", decoded.item.seq)
                self._drop(decoded.item, RuntimeError("internal error"))
                continue
            finally:
                self._busy.pop("sink", None)
            for frame in decoded.item.frames:
                self._metrics.count_decoded(frame)
                self._metrics.by_weights.labels(*weights_of(frame)).inc()
                self.frames_decoded += 1
            self.last_output_mono = time.monotonic()
