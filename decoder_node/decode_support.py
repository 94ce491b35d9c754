"""What the decode workers share: the decoder they need, a batch in flight, the request of an
item, their metrics, and how they judge a failure (drop reasons, the device out of memory)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

from decoder_node.frames import ReceivedFrame, StereoItem
from decoder_node.metrics import LATENCY_BUCKETS, SIDES, RigSeries, metric_name
from pipeline.codec import DecodeRequest
from pipeline.codec.errors import BitstreamError, ModelMismatchError

STAGES = ("entropy_decode", "synthesis", "si_finder", "si_net")
"""The ``stage`` label values of ``stage_seconds``."""


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
        for stage in STAGES:
            self.stage.labels(stage)
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
    from pipeline.codec.registry import STANDARD_MODELS

    spec = STANDARD_MODELS.get(frame.header.model_id)
    return (spec.weights if spec else frame.header.model_id), frame.weights_hash


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
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class BatchDecoder(Protocol):
    """What the workers need of :class:`pipeline.codec.StereoDecoder`."""

    def entropy_decode(self, requests: list[DecodeRequest]) -> Any: ...
    def reconstruct(self, latents: Any) -> Any: ...
    def decode_batch(self, requests: list[DecodeRequest]) -> Any: ...


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
    """The codec request of one item: left is the primary view, right the side view."""
    return DecodeRequest(
        primary=item.left.payload if item.left is not None else None,
        side=item.right.payload if item.right is not None else None,
    )
