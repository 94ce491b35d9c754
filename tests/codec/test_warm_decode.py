"""The decoder's SI-Finder warm start: a stream's pairs, in order, searched near their previous
matches; a restart, a new epoch or a forgotten stream searched in full; the state bounded."""

from __future__ import annotations

import numpy as np

from pipeline.codec import DecodeRequest, Role
from pipeline.codec.api import StreamPosition
from pipeline.codec.decode.tracks import Tracks
from pipeline.codec.family import make_encoder
from pipeline.codec.model.si_track import WarmStart
from pipeline.scene import render_stereo_frame
from tests.conftest import psnr


def coded_pairs(count: int, seed: int = 21) -> list[tuple[np.ndarray, bytes, bytes]]:
    """Consecutive rendered frames, both views JPEG-coded: (left original, left, right)."""
    encoder = make_encoder("jpeg")
    pairs = []
    for index in range(count):
        left, right = render_stereo_frame(index, 96, 64, seed)
        pairs.append(
            (left, encoder.encode(left, Role.PRIMARY, 60), encoder.encode(right, Role.SIDE, 60))
        )
    return pairs


def test_a_streams_pairs_are_searched_warm_and_fused_as_well_as_with_the_full_search(decoder):
    stream = "test-warm-decode"
    searches, gains = [], []
    *stream_pairs, (_, late_left, late_right) = coded_pairs(6)
    for index, (original, left, right) in enumerate(stream_pairs):
        position = StreamPosition(stream, index)
        warm = decoder.decode_batch([DecodeRequest(left, right, position=position)]).pairs[0]
        full = decoder.decode_batch([DecodeRequest(left, right)]).pairs[0]
        searches.append(warm.search)
        assert full.search == "full"
        gains.append(psnr(original, warm.left) - psnr(original, full.left))
    assert searches == ["full", "warm", "warm", "warm", "warm"]
    assert min(gains) > -0.05  # dB: the warm start costs (almost) nothing
    decoder.forget(stream)  # the rig's slot was released: its next pair is searched in full
    late = DecodeRequest(late_left, late_right, position=StreamPosition(stream, 5))
    assert decoder.decode_batch([late]).pairs[0].search == "full"


def test_a_restart_a_new_epoch_or_a_forgotten_stream_starts_with_a_full_search():
    tracks = Tracks(WarmStart())
    first = tracks.track(StreamPosition("rig", 5))
    assert tracks.track(StreamPosition("rig", 6)) is first
    assert tracks.track(StreamPosition("rig", 6)) is not first  # index did not grow: again
    again = tracks.track(StreamPosition("rig", 7))
    assert tracks.track(StreamPosition("rig", 8, epoch=1)) is not again  # a new video stream
    tracks.forget("rig")
    assert len(tracks) == 0
    assert Tracks(None).track(StreamPosition("rig", 1)) is None  # warm start off
    assert tracks.track(None) is None  # a request without a position


def test_tracks_are_bounded_the_least_recently_used_going_first():
    tracks = Tracks(WarmStart(), limit=2)
    a = tracks.track(StreamPosition("a", 0))
    tracks.track(StreamPosition("b", 0))
    assert tracks.track(StreamPosition("a", 1)) is a
    tracks.track(StreamPosition("c", 0))  # b was used least recently
    assert len(tracks) == 2
    assert tracks.track(StreamPosition("a", 2)) is a
