"""Keyframe requests at the camera (``camera_nodes/keyframe_requests.py``): a real node streaming
H.264 into a PULL socket, with a real PUB socket standing in for the decoder's requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import zmq
from prometheus_client import CollectorRegistry

from camera_nodes.config import CameraConfig, VideoTable
from camera_nodes.keyframe_requests import REQUEST_OUTCOMES, KeyframeRequests
from camera_nodes.metrics import CameraMetrics
from camera_nodes.node import CameraNode
from pipeline.config import ConfigError
from pipeline.sharding import ShardConfig
from pipeline.wire import FrameHeader, KeyframeRequest, StreamInfo, decode_frame, encode_request
from tests.camera_nodes.test_camera_node import config

pytestmark = pytest.mark.timeout(90)

STREAM_ID = 77
METRIC = "stereo_camera_keyframe_requests_total"


class Publisher:
    """An XPUB socket bound on loopback: it hears when a camera has subscribed, so nothing it
    sends is lost to a subscription still on its way."""

    def __init__(self, context: zmq.Context) -> None:
        self.socket = context.socket(zmq.XPUB)
        port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"

    def wait_for_subscriber(self, topic: bytes, timeout_ms: int = 30_000) -> None:
        assert self.socket.poll(timeout_ms), "no camera subscribed"
        assert self.socket.recv() == b"\x01" + topic

    def request(self, rig: str, side: str, stream_id: int, packet: int = 0) -> None:
        self.socket.send_multipart(encode_request(KeyframeRequest(rig, side, stream_id, packet)))


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    context = zmq.Context()
    found = Publisher(context)
    yield found
    context.destroy(linger=0)


def counts(metrics: CameraMetrics) -> dict[str, float]:
    """The node's ``keyframe_requests_total`` by outcome."""
    labels = {"rig": "rig0", "side": "left"}
    get = metrics.registry.get_sample_value
    return {o: get(METRIC, {**labels, "outcome": o}) for o in REQUEST_OUTCOMES}


@pytest.fixture
def listener(publisher) -> Iterator[tuple[KeyframeRequests, CameraMetrics]]:
    """A camera's request socket subscribed to ``publisher``, and the metrics it counts in."""
    metrics = CameraMetrics("rig0", "left", CollectorRegistry())
    requests = KeyframeRequests(publisher.endpoint, "rig0", "left", metrics.keyframe_requests)
    requests.open(publisher.socket.context)
    publisher.wait_for_subscriber(b"rig0/left")
    yield requests, metrics
    requests.close()


def settle(requests: KeyframeRequests) -> None:
    """Give what was published a moment to arrive (loopback: in order, one connection)."""
    assert requests._socket.poll(2000)
    time.sleep(0.1)


def coded(requests: KeyframeRequests, *packets: tuple[int, bool]) -> None:
    """Tell ``requests`` that the encoder coded these (packet, keyframe) of :data:`STREAM_ID`."""
    for packet, keyframe in packets:
        requests.coded(StreamInfo("h264", STREAM_ID, packet, keyframe))


def asked(publisher, requests: KeyframeRequests, stream_id: int, packet: int) -> bool:
    """Publish one request and take it: whether the next frame is to be a keyframe."""
    publisher.request("rig0", "left", stream_id, packet)
    settle(requests)
    return requests.take()


def test_a_request_for_the_stream_being_coded_is_honoured_once(publisher, listener):
    requests, metrics = listener
    assert not asked(publisher, requests, STREAM_ID, 0)  # nothing coded yet: its first is one
    coded(requests, (0, True), (1, False), (2, False))
    assert asked(publisher, requests, STREAM_ID, 2)
    assert not requests.take()  # read once
    assert not asked(publisher, requests, STREAM_ID + 1, 2)  # a stream before a restart
    assert counts(metrics) == dict.fromkeys(REQUEST_OUTCOMES, 0) | {
        "honoured": 1,
        "stale_stream": 2,
    }


def test_a_request_a_keyframe_has_answered_already_is_ignored(publisher, listener):
    requests, metrics = listener
    coded(requests, (0, True), (1, False), (2, False), (3, True), (4, False))
    assert not asked(publisher, requests, STREAM_ID, 2)  # keyframe 3 came after packet 2
    assert asked(publisher, requests, STREAM_ID, 3)  # the keyframe was the packet it lost
    assert counts(metrics)["already_keyframe"] == 1 and counts(metrics)["honoured"] == 1
    requests.coded(StreamInfo("h264", STREAM_ID + 1, 0, False))  # a new stream, none yet
    assert asked(publisher, requests, STREAM_ID + 1, 0)


def test_a_malformed_request_is_counted_and_ignored(publisher, listener):
    requests, metrics = listener
    publisher.socket.send_multipart([b"rig0/left", b"\xc1"])
    publisher.socket.send_multipart([b"rig0/left"])
    coded(requests, (0, True))
    assert asked(publisher, requests, STREAM_ID, 0)
    assert counts(metrics)["malformed"] == 2 and counts(metrics)["honoured"] == 1


def test_a_passthrough_camera_counts_every_request_and_honours_none(publisher, listener):
    requests, metrics = listener
    for _ in range(3):
        publisher.request("rig0", "left", STREAM_ID)
    settle(requests)
    requests.ignore_all()
    assert counts(metrics)["passthrough"] == 3
    coded(requests, (0, True))
    assert not requests.take()  # all read


def video_camera(endpoint: str, requests: str) -> CameraConfig:
    """An H.264 camera at 10 fps whose only periodic keyframe is its first (60 s apart)."""
    return config(
        endpoint,
        fps=10.0,
        frames=40,
        flush_s=2.0,
        codec="h264",
        video=VideoTable(keyframe_interval_s=60.0),
        keyframe_requests_endpoint=requests,
    )


def next_header(sock: zmq.Socket) -> FrameHeader:
    assert sock.poll(10_000), "the camera stopped sending"
    return decode_frame(sock.recv_multipart())[0]


def test_a_camera_codes_a_keyframe_within_two_frames_of_a_request(pull, publisher):
    sock, endpoint = pull
    node = CameraNode(video_camera(endpoint, publisher.endpoint))
    thread = threading.Thread(target=node.run)
    thread.start()
    try:
        publisher.wait_for_subscriber(b"rig0/left")
        headers = [next_header(sock) for _ in range(4)]
        assert [h.stream.keyframe for h in headers] == [True, False, False, False]
        stream = headers[0].stream.id
        asked_after = headers[-1].stream.packet
        publisher.request("rig0", "left", stream + 1, asked_after)  # another stream's: stale
        publisher.request("rig0", "left", stream, asked_after)
        later = [next_header(sock) for _ in range(8)]
        keyframes = [h.stream.packet - asked_after for h in later if h.stream.keyframe]
        assert len(keyframes) == 1 and keyframes[0] <= 2, keyframes
        assert {h.stream.id for h in later} == {stream}  # the same stream goes on
    finally:
        node.stop()
        thread.join(30)
    assert counts(node.metrics) == dict.fromkeys(REQUEST_OUTCOMES, 0) | {
        "honoured": 1,
        "stale_stream": 1,
    }
    assert node.metrics.totals()["keyframe_requests_honoured"] == 1


def test_an_image_codec_camera_refuses_a_request_endpoint():
    with pytest.raises(ConfigError, match="keyframe_requests_endpoint"):
        CameraConfig(side="left", codec="jpeg", keyframe_requests_endpoint="tcp://h:5557")


def test_a_sharded_camera_subscribes_to_its_own_decoders_requests():
    config = CameraConfig(
        side="left",
        rig_id="rig7",
        endpoint="tcp://decoder-{index}:5555",
        codec="h264",
        keyframe_requests_endpoint="tcp://decoder-{index}:5557",
        shard=ShardConfig(replicas=3),
    )
    index = config.decoder_endpoint.removeprefix("tcp://decoder-").split(":")[0]
    assert config.request_endpoint == f"tcp://decoder-{index}:5557"
    with pytest.raises(ConfigError, match="keyframe_requests_endpoint"):
        CameraConfig(
            side="left",
            endpoint="tcp://decoder-{index}:5555",
            codec="h264",
            keyframe_requests_endpoint="tcp://decoder-0:5557",
            shard=ShardConfig(replicas=3),
        )
