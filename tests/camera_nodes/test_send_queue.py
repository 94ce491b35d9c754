"""The send queue with video streams: a dropped frame takes the frames that depend on it along,
up to the next keyframe, and asks for a keyframe when none is queued; image codecs' frames are
independent and dropped one at a time, as before."""

from __future__ import annotations

from dataclasses import dataclass

from camera_nodes.node import CameraNode, EncodedFrame, stream_link
from camera_nodes.send_queue import DropOldestQueue, StreamLink
from pipeline.wire import StreamInfo
from tests.camera_nodes.test_camera_node import config


@dataclass(frozen=True)
class Frame:
    """A queued video frame: ``name`` is ``K`` (keyframe) or ``P`` and its packet index."""

    name: str
    stream_id: int = 1

    @property
    def link(self) -> StreamLink:
        return StreamLink(self.stream_id, self.name.startswith("K"))


def video_queue(maxsize: int) -> tuple[DropOldestQueue[Frame], list[str]]:
    """A queue of :class:`Frame` and the names of the frames it reports unusable."""
    unusable: list[str] = []
    queue = DropOldestQueue(
        maxsize, link=lambda frame: frame.link, on_unusable=lambda f: unusable.append(f.name)
    )
    return queue, unusable


def fill(queue: DropOldestQueue[Frame], *names: str, stream_id: int = 1) -> list[str | None]:
    """Put frames named ``names``; what each put dropped to make room."""
    dropped = [queue.put(Frame(name, stream_id)) for name in names]
    return [None if d is None else d.name for d in dropped]


def queued(queue: DropOldestQueue[Frame]) -> list[str]:
    return [f.name for f in queue.drain()]


def test_dropping_a_p_frame_drops_its_chain_up_to_the_next_keyframe() -> None:
    queue, unusable = video_queue(4)
    assert fill(queue, "K0") == [None] and queue.get(0.0).name == "K0"  # K0 was sent
    assert fill(queue, "P1", "P2", "P3", "P4", "K5", "P6") == [None] * 4 + ["P1", None]
    assert unusable == ["P2", "P3", "P4"]
    assert not queue.take_keyframe_request()  # K5 is queued: the stream goes on from there
    assert queued(queue) == ["K5", "P6"]


def test_a_dropped_keyframe_drops_its_dependants() -> None:
    queue, unusable = video_queue(4)
    assert fill(queue, "K0", "P1", "P2", "K3", "P4") == [None] * 4 + ["K0"]
    assert unusable == ["P1", "P2"]
    assert queued(queue) == ["K3", "P4"]


def test_a_chain_to_the_end_of_the_queue_waits_for_a_keyframe_and_asks_for_one() -> None:
    queue, unusable = video_queue(3)
    assert fill(queue, "K0", "P1", "P2", "P3") == [None] * 3 + ["K0"]
    assert unusable == ["P1", "P2", "P3"] and len(queue) == 0  # the new P3 depends on K0 too
    assert queue.take_keyframe_request()
    assert not queue.take_keyframe_request()  # once
    fill(queue, "P4")  # encoded before the request was read: still undecodable
    assert unusable[-1] == "P4" and len(queue) == 0
    fill(queue, "K5", "P6")  # the forced keyframe: the stream goes on
    assert queued(queue) == ["K5", "P6"] and unusable == ["P1", "P2", "P3", "P4"]


def test_a_frame_lost_in_sending_drops_its_queued_dependants() -> None:
    queue, unusable = video_queue(8)
    fill(queue, "K0", "P1", "P2", "K3", "P4")
    queue.lost(queue.get(0.0))  # K0 taken by the sender, the send failed
    assert unusable == ["P1", "P2"] and not queue.take_keyframe_request()
    queue.lost(queue.get(0.0))  # K3 too: P4 goes, and nothing is queued to restart from
    assert unusable == ["P1", "P2", "P4"] and queue.take_keyframe_request()


def test_other_streams_and_independent_frames_are_left_alone() -> None:
    queue, unusable = video_queue(4)
    fill(queue, "K0", stream_id=1)
    fill(queue, "P7", stream_id=2)  # another stream, say the camera's previous encoder
    fill(queue, "P1", stream_id=1)
    fill(queue, "P8", stream_id=2)
    assert fill(queue, "P2", stream_id=1) == ["K0"]
    assert unusable == ["P1", "P2"]
    assert [(f.name, f.stream_id) for f in queue.drain()] == [("P7", 2), ("P8", 2)]


def test_image_frames_drop_one_at_a_time_and_never_ask_for_a_keyframe() -> None:
    reported: list[int] = []
    queue: DropOldestQueue[int] = DropOldestQueue(2, on_unusable=reported.append)
    assert [queue.put(i) for i in range(6)] == [None, None, 0, 1, 2, 3]
    queue.lost(queue.get(0.0))
    assert queue.drain() == [5] and reported == [] and not queue.take_keyframe_request()


def test_the_node_counts_frames_dropped_for_a_keyframe() -> None:
    """The node's queue links its frames by their wire stream and counts what a drop takes
    along as ``awaiting_keyframe``; image codecs' frames (no stream) stay independent."""
    node = CameraNode(config("tcp://127.0.0.1:1", send_queue=2))

    def frame(packet: int, keyframe: bool) -> EncodedFrame:
        stream = StreamInfo("h264", 99, packet, keyframe)
        return EncodedFrame(packet, 1, 28, 16, 16, 1, b"x", stream)

    assert stream_link(frame(0, True)) == StreamLink(99, True)
    image = EncodedFrame(0, 1, 4, 16, 16, 1, b"x")
    assert stream_link(image) is None
    for packet, keyframe in enumerate((True, False, False, False)):
        node._queue.put(frame(packet, keyframe))
    totals = node.metrics.totals()
    assert totals["dropped_awaiting_keyframe"] == 3  # packets 1-3 went with keyframe 0
    assert node._queue.take_keyframe_request()
