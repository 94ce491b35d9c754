"""Keyframe requests from the receiver (``decoder_node/keyframe_requests.py``): a stream that
drops a packet asks its camera for a keyframe over a real PUB socket, at most once an
interval."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
import zmq.auth
from prometheus_client import CollectorRegistry

from camera_nodes.keyframe_requests import KeyframeRequests
from camera_nodes.metrics import CameraMetrics
from decoder_node.app import DecoderApp
from decoder_node.config import (
    DecoderConfig,
    KeyframeRequestConfig,
    PairingConfig,
    ReceiverConfig,
    SecurityConfig,
)
from decoder_node.keyframe_requests import KeyframeRequester, RequestLimiter
from decoder_node.pairing import Pairer
from decoder_node.preflight import check_request_endpoint, open_endpoints
from decoder_node.receiver import Receiver
from pipeline.config import ConfigError
from pipeline.keygen import generate
from pipeline.wire import KeyframeRequest, decode_request, request_topic
from stereo_app.demo.processes import wait_until
from tests.decoder_node.test_app import config
from tests.decoder_node.video_camera import VideoCamera, VideoMessage, corrupt

pytestmark = pytest.mark.timeout(60)

INTERVAL_S = 0.5


class Requests:
    """A receiver with a keyframe requester on loopback, and a camera's SUB socket on it."""

    def __init__(self, registry, drops, topic: bytes = request_topic("rig0", "left")) -> None:
        self.context = zmq.Context()
        cfg = KeyframeRequestConfig(bind="tcp://127.0.0.1:*", interval_s=INTERVAL_S)
        self.requester = KeyframeRequester(cfg, registry, drops.rigs, self.context)
        self.requester.open()
        pairer = Pairer(PairingConfig(mode="sequence"), drops, registry)
        config = ReceiverConfig(bind="tcp://127.0.0.1:*")
        emit = lambda item: None  # noqa: E731
        self.receiver = Receiver(
            config, pairer, emit, drops, registry, self.context, requests=self.requester
        )
        self.sub = self.context.socket(zmq.SUB)
        self.topic = topic
        self.sub.setsockopt(zmq.SUBSCRIBE, topic)
        self.sub.connect(self.requester.endpoint)
        self._registry = registry

    def joined(self) -> None:
        """Wait until the subscription has reached the PUB socket (what a PUB sends before
        that is lost, as for a camera that is away): probes on the topic until one comes."""
        for _ in range(200):
            self.requester._socket.send_multipart([self.topic, b"probe"])
            if self.sub.poll(20):
                while self.sub.poll(50):
                    self.sub.recv_multipart()
                return
        raise AssertionError("the SUB socket never joined")

    def send(self, messages: list[VideoMessage], now: float) -> None:
        for message in messages:
            self.receiver.handle(message.parts, 0, now)

    def received(self) -> list[KeyframeRequest]:
        """Every request the camera's socket has got so far."""
        got = []
        while self.sub.poll(100):
            got.append(decode_request(self.sub.recv_multipart()))
        return got

    def sent(self, reason: str, side: str = "left") -> float:
        labels = {"rig": "rig0", "side": side, "reason": reason}
        name = "stereo_decoder_keyframe_requests_total"
        return self._registry.get_sample_value(name, labels) or 0.0

    def close(self) -> None:
        self.requester.close()
        self.context.destroy(linger=0)


@pytest.fixture
def requests(registry, drops):
    found = Requests(registry, drops)
    found.joined()
    yield found
    found.close()


def test_the_limiter_allows_one_request_a_stream_an_interval():
    limiter = RequestLimiter(0.5)
    assert limiter.due(("rig0", "left"), 10.0)
    assert not limiter.due(("rig0", "left"), 10.49)
    assert limiter.due(("rig0", "right"), 10.1)  # each stream on its own
    assert limiter.due(("rig0", "left"), 10.5)
    limiter.forget("rig0")
    assert limiter.due(("rig0", "left"), 10.6)  # a released rig starts afresh


def test_a_gap_sends_one_request_for_the_stream_that_showed_it(requests):
    messages = VideoCamera().take(8)  # keyframes at 0 and 4
    requests.send([messages[0], *messages[2:4]], now=1.0)  # 1 lost: 2 shows the gap, 3 waits
    stream = messages[2].header.stream  # the frame that showed the gap
    assert requests.received() == [KeyframeRequest("rig0", "left", stream.id, stream.packet)]
    assert requests.sent("stream_gap") == 1
    assert requests.sent("waiting_keyframe") == 0  # within the interval: not asked again


def test_a_second_gap_within_the_interval_sends_none_and_one_after_it_does(requests):
    messages = VideoCamera().take(12)  # keyframes at 0, 4, 8
    requests.send([messages[0], messages[2]], now=1.0)
    assert len(requests.received()) == 1
    requests.send([messages[4], messages[6]], now=1.0 + INTERVAL_S / 2)  # a new gap, too soon
    assert requests.received() == []
    requests.send([messages[7]], now=1.0 + INTERVAL_S)  # still waiting: the request again
    assert len(requests.received()) == 1
    assert requests.sent("stream_gap") == 1
    assert requests.sent("waiting_keyframe") == 1


def test_a_stream_that_loses_nothing_sends_no_request(requests):
    requests.send(VideoCamera().take(8), now=1.0)
    assert requests.received() == []
    assert sum(requests.sent(r) for r in ("stream_gap", "waiting_keyframe")) == 0


def test_a_corrupt_packet_sends_a_request(requests):
    messages = VideoCamera().take(4)
    requests.send([*messages[:2], corrupt(messages[2])], now=1.0)
    stream = messages[2].header.stream
    assert [(r.stream_id, r.packet) for r in requests.received()] == [(stream.id, 2)]
    assert requests.sent("corrupt_packet") == 1


def test_a_decoder_that_joins_mid_stream_asks_for_a_keyframe(requests):
    messages = VideoCamera().take(4)
    requests.send(messages[1:3], now=1.0)  # its first packet is no keyframe
    assert len(requests.received()) == 1
    assert requests.sent("waiting_keyframe") == 1


def test_each_camera_gets_only_its_own_requests(registry, drops):
    drops.rigs.add("rig1")
    found = Requests(registry, drops, topic=request_topic("rig1", "right"))
    try:
        found.joined()
        right = VideoCamera("right", rig="rig1").take(4)
        left = VideoCamera("left").take(4)
        found.send([left[0], left[2], right[0], right[2]], now=1.0)
        stream = right[2].header.stream
        assert found.received() == [KeyframeRequest("rig1", "right", stream.id, stream.packet)]
    finally:
        found.close()


def with_requests(tmp_path, bind: str, **security) -> DecoderConfig:
    cfg = config(tmp_path)
    requests = KeyframeRequestConfig(bind=bind)
    return dataclasses.replace(cfg, keyframe_requests=requests, security=SecurityConfig(**security))


def test_a_decoder_binds_its_request_socket_and_exports_the_counter(tmp_path, fake_decoder_cls):
    app = DecoderApp(with_requests(tmp_path, "tcp://127.0.0.1:*"), decoder=fake_decoder_cls())
    app.start()
    try:
        assert app._requests.endpoint.startswith("tcp://127.0.0.1:")
        sub = zmq.Context.instance().socket(zmq.SUB)
        sub.connect(app._requests.endpoint)  # a camera may subscribe
        sub.close(linger=0)
    finally:
        app.stop()
    names = {family.name for family in app.registry.collect()}
    assert "stereo_decoder_keyframe_requests" in names  # its series come with a rig's slot


def test_a_request_bind_that_fails_names_its_key(tmp_path, fake_decoder_cls):
    taken = zmq.Context.instance().socket(zmq.PUB)
    port = taken.bind_to_random_port("tcp://127.0.0.1")
    try:
        cfg = with_requests(tmp_path, f"tcp://127.0.0.1:{port}")
        app = DecoderApp(cfg, decoder=fake_decoder_cls())
        with pytest.raises(ConfigError) as raised:
            app.start()
        app.stop()
        assert raised.value.key == "keyframe_requests.bind"
    finally:
        taken.close(linger=0)


@pytest.mark.parametrize(
    ("bind", "reason"),
    [("tcp://127.0.0.1:5555", "is receiver.bind"), ("udp://x:1", "not a ZeroMQ endpoint")],
)
def test_preflight_refuses_a_request_endpoint_naming_the_key(tmp_path, bind, reason):
    cfg = dataclasses.replace(
        with_requests(tmp_path, bind), receiver=ReceiverConfig(bind="tcp://127.0.0.1:5555")
    )
    with pytest.raises(ConfigError, match=reason) as raised:
        check_request_endpoint(cfg)
    assert raised.value.key == "keyframe_requests.bind"


def test_an_open_request_socket_counts_as_an_insecure_endpoint(tmp_path):
    cfg = with_requests(tmp_path, "tcp://*:5557")
    assert open_endpoints(cfg) == ["keyframe_requests.bind = 'tcp://*:5557'"]
    assert open_endpoints(with_requests(tmp_path, "")) == []
    assert open_endpoints(with_requests(tmp_path, "tcp://*:5557", enabled=True)) == []


def curve_client(secret: Path, decoder: Path) -> Callable[[zmq.Socket], None]:
    """Makes a socket a CURVE client with the keys of ``secret`` and the decoder's."""

    def secure(sock: zmq.Socket) -> None:
        sock.curve_publickey, sock.curve_secretkey = zmq.auth.load_certificate(secret)
        sock.curve_serverkey = zmq.auth.load_certificate(decoder)[0]

    return secure


def every_other_frame() -> Iterator[tuple[VideoMessage, VideoMessage]]:
    """(a frame to send, the frame after it, never sent) of a camera, one new camera after
    another (a scene is 64 frames wide)."""
    while True:
        video = VideoCamera()
        for _ in range(30):
            yield tuple(video.take(2))


def test_with_curve_only_allowed_camera_keys_get_requests(tmp_path, fake_decoder_cls):
    keys = tmp_path / "keys"
    decoder = generate(keys, "decoder")[0]
    camera = curve_client(generate(keys / "cameras", "rig0-left", "rig0", "left")[1], decoder)
    intruder = curve_client(generate(tmp_path / "other", "intruder", "rig0", "left")[1], decoder)
    security = {"secret_key": keys / "decoder.key_secret", "cameras": keys / "cameras"}
    cfg = dataclasses.replace(
        with_requests(tmp_path, "", enabled=True, **security),
        keyframe_requests=KeyframeRequestConfig(bind="tcp://127.0.0.1:*", interval_s=0.05),
    )
    app = DecoderApp(cfg, decoder=fake_decoder_cls())
    app.start()
    context = zmq.Context()
    try:
        listeners = {}
        for name, secure in (("camera", camera), ("intruder", intruder)):
            metrics = CameraMetrics("rig0", "left", CollectorRegistry())
            endpoint = app._requests.endpoint
            listeners[name] = KeyframeRequests(
                endpoint, "rig0", "left", metrics.keyframe_requests, secure
            )
            listeners[name].open(context)
        push = context.socket(zmq.PUSH)
        camera(push)
        push.connect(app.endpoint)
        pairs = every_other_frame()
        honoured, deadline = False, time.monotonic() + 20.0
        while time.monotonic() < deadline:  # every other packet: each a gap, a request / 0.05 s
            message, skipped = next(pairs)
            push.send_multipart(message.parts)
            for listener in listeners.values():  # what the camera coded
                listener.coded(message.header.stream)
                listener.coded(skipped.header.stream)
            listeners["camera"]._socket.poll(100)  # before the camera codes on past a keyframe
            honoured = listeners["camera"].take()
            if honoured:
                break
        assert honoured
        refused = "stereo_decoder_auth_refused_total"
        labels = {"socket": "requests"}
        assert wait_until(lambda: (app.registry.get_sample_value(refused, labels) or 0) >= 1, 10)
        assert not listeners["intruder"].take()
        push.close(linger=0)
        for listener in listeners.values():
            listener.close()
    finally:
        context.destroy(linger=0)
        app.stop()
