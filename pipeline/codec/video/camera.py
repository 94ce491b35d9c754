"""A video codec as a camera encoder: images in, containers out, each with its stream position.

:class:`VideoCameraEncoder` offers what every camera encoder does (:class:`~pipeline.codec.encode.
Encoder`: a model id, qualities, ``encode`` to a container) on top of a :class:`VideoEncoder`,
and two things only a stream has: :meth:`force_keyframe`, and :attr:`stream`, the
:class:`~pipeline.wire.StreamInfo` of the packet just coded, which the camera sends in a
protocol version 2 header.

The container (``docs/bitstream.md``) holds the packet's bytes as its one string, the model id
(``h264-si2``: the codec and the SI-Net that fuses it), that SI-Net's weights hash and the
quality ``100 - crf`` (:func:`~pipeline.codec.video.settings.quality_of_crf`); its CRC32 is what
catches a damaged packet that H.264 and HEVC would otherwise conceal. The encoder opens on the
first image, at its size; an image of another size starts a new stream (a new stream id, a
keyframe first).
"""

from __future__ import annotations

import numpy as np

from pipeline.codec.api import Role
from pipeline.codec.bitstream.container import container
from pipeline.codec.inputs import check_image
from pipeline.codec.video.encoder import VideoEncoder, VideoPacket
from pipeline.codec.video.settings import VideoSettings, quality_of_crf
from pipeline.codec.weights import VIDEO_MODELS, named_hash
from pipeline.wire import StreamInfo


def video_model_id(codec: str) -> str:
    """The registry model id of video codec ``codec`` (``h264`` -> ``h264-si2``)."""
    for spec in VIDEO_MODELS.values():
        if spec.codec == codec:
            return spec.model_id
    raise ValueError(f"no registered model for video codec {codec!r}")


def stream_info(packet: VideoPacket, codec: str) -> StreamInfo:
    """The wire's ``stream`` map of ``packet``, a ``codec`` stream's."""
    return StreamInfo(codec, packet.stream_id, packet.index, packet.keyframe)


def packet_of(stream: StreamInfo, data: bytes) -> VideoPacket:
    """The packet a received message carries: its stream position and the container's string."""
    return VideoPacket(stream.id, stream.packet, stream.keyframe, stream.packet, data)


class VideoCameraEncoder:
    """A camera's video encoder in the shape of :class:`~pipeline.codec.encode.Encoder`.

    ``settings``: codec, encoder, keyframe interval, CRF or ``target_kbps``
    (``docs/video.md``); ``model``: the registry id (default the codec's); ``weights_hash``: the
    SI-Net weights the containers name (default the built-in file's).
    """

    def __init__(
        self, settings: VideoSettings, model: str | None = None, weights_hash: str = ""
    ) -> None:
        self.settings = settings
        self._spec = VIDEO_MODELS[model or video_model_id(settings.codec)]
        if self._spec.codec != settings.codec:
            raise ValueError(
                f"model {self._spec.model_id} codes {self._spec.codec}, not {settings.codec}"
            )
        self._weights_hash = weights_hash or named_hash(self._spec.weights)
        self._quality = quality_of_crf(settings.quality)
        self._encoder: VideoEncoder | None = None
        self.stream: StreamInfo | None = None
        """The stream position of the packet :meth:`encode` coded last (None before one)."""

    @property
    def model_id(self) -> str:
        """The registry id written into every bitstream."""
        return self._spec.model_id

    @property
    def qualities(self) -> tuple[int, ...]:
        """The one quality this stream is coded at (``100 - crf``; the nominal CRF's with
        ``target_kbps``): a stream's quality is its encoder's setting, not the camera's."""
        return (self._quality,)

    @property
    def default_quality(self) -> int:
        """The stream's quality."""
        return self._quality

    @property
    def encoder_name(self) -> str | None:
        """The FFmpeg encoder in use (None before the first image)."""
        return None if self._encoder is None else self._encoder.name

    @property
    def refused(self) -> tuple[tuple[str, str], ...]:
        """The encoders ``encoder = "auto"`` passed over for the open stream, each with why
        (empty before the first image)."""
        return () if self._encoder is None else self._encoder.refused

    def force_keyframe(self) -> None:
        """Make the next frame a keyframe (after the send queue dropped part of the stream)."""
        if self._encoder is not None:
            self._encoder.force_keyframe()

    def encode(
        self, image: np.ndarray, role: Role = Role.PRIMARY, quality: int | None = None
    ) -> bytes:
        """The container of ``image``, the stream's next frame; :attr:`stream` says where it
        sits. ValueError for a bad image or a quality other than the stream's."""
        image = check_image(image)
        if quality is not None and quality != self._quality:
            raise ValueError(f"this stream is coded at quality {self._quality}, not {quality}")
        packet = self._stream_for(image).encode(image)
        self.stream = stream_info(packet, self.settings.codec)
        strings = (packet.data,)
        return container(image, self.model_id, self._weights_hash, self._quality, role, strings)

    def close(self) -> None:
        """End the stream and free the encoder."""
        if self._encoder is not None:
            self._encoder.close()
            self._encoder = None

    def _stream_for(self, image: np.ndarray) -> VideoEncoder:
        """The open encoder if ``image`` fits it, else a new stream at ``image``'s size."""
        height, width = image.shape[:2]
        channels = 1 if image.ndim == 2 else 3
        current = self._encoder
        if current is None or current.shape != image.shape:
            self.close()
            self._encoder = VideoEncoder(self.settings, width, height, channels)
        return self._encoder
