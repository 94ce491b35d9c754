"""Fuzz target ``decode``: ``StereoDecoder.decode_batch`` on mutated real containers.

Contract (``docs/bitstream.md``): every request decodes to images of the shapes its headers
declare, or raises a :class:`~pipeline.codec.bitstream.errors.BitstreamError` subclass.
Inputs: batches of one or two requests whose primary and side views are corpus containers of
any codec and shape (so pairs mix codecs and sizes), unchanged or mutated as the
``container`` target mutates them; most mutations keep the CRC valid so they reach the
entropy decoder, the image libraries and the networks.
"""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from pipeline.codec import DecodeRequest, Role, StereoDecoder
from pipeline.codec.bitstream.container import read_header
from pipeline.codec.bitstream.errors import BitstreamError
from tests.fuzz import corpus
from tests.fuzz.container import fix_envelope, patched, rebuilt
from tests.fuzz.mutate import mutated
from tests.fuzz.target import Target


@cache
def decoder() -> StereoDecoder:
    """The decoder under test: CPU, one SI-Net pass, default limits."""
    return StereoDecoder(device="cpu", self_ensemble=1)


def mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """``seed`` mutated. Most mutations keep the container valid (its CRC right, its header
    unchanged or changed in shape, quality, channels, role or codec) so that they reach the
    entropy decoder, the image libraries and the networks; the container target covers the
    rest."""
    seeds = st.just(seed)
    return st.one_of(
        rebuilt(seeds, changes=("strings",)),
        rebuilt(seeds, changes=("strings",)),
        rebuilt(seeds, changes=("height", "width", "quality", "channels", "role", "retarget")),
        rebuilt(seeds),
        patched(seeds),
        mutated(seeds).map(fix_envelope),
        seeds,
    )


def _seed(draw, role: Role) -> bytes:
    return draw(st.sampled_from(corpus.seed_bytes(role)))


@st.composite
def requests(draw) -> list[DecodeRequest]:
    """A batch of one request (sometimes two) of corpus views of any codec and shape: both
    views, or only the primary or the side; one view mutated, sometimes two."""
    views: list[list[bytes | None]] = []
    for _ in range(draw(st.sampled_from((1, 1, 1, 2)))):
        present = draw(st.sampled_from(("both", "both", Role.PRIMARY, Role.SIDE)))
        roles = (Role.PRIMARY, Role.SIDE) if present == "both" else (present,)
        views.append([_seed(draw, role) if role in roles else None for role in Role])
    slots = [(i, j) for i, pair in enumerate(views) for j, v in enumerate(pair) if v is not None]
    for i, j in draw(st.lists(st.sampled_from(slots), min_size=1, max_size=2, unique=True)):
        views[i][j] = draw(mutations(views[i][j]))
    return [DecodeRequest(primary=p, side=s) for p, s in views]


def _expected_shape(data: bytes) -> tuple[int, ...]:
    header = read_header(data)
    return (header.height, header.width) + ((3,) if header.channels == 3 else ())


def check(batch: list[DecodeRequest]) -> None:
    """Decode one batch; decoded images must have the shapes their headers declare."""
    try:
        decoded = decoder().decode_batch(batch)
    except BitstreamError:
        return
    assert len(decoded.pairs) == len(batch)
    for request, pair in zip(batch, decoded.pairs, strict=True):
        images = {
            "left": (request.primary, pair.left),
            "left_alone": (request.primary, pair.left_alone),
            "right": (request.side, pair.right),
        }
        for name, (data, image) in images.items():
            if data is None:
                assert image is None, name
            else:
                assert image.dtype.name == "uint8", name
                assert image.shape == _expected_shape(data), (name, image.shape)


def _setup() -> None:
    """Load the models and run every seed once (numba compiles, thread pools start)."""
    pairs = zip(corpus.seed_bytes(Role.PRIMARY), corpus.seed_bytes(Role.SIDE), strict=True)
    for primary, side in pairs:
        decoder().decode_batch([DecodeRequest(primary=primary, side=side)] * 2)


TARGET = Target(
    name="decode", inputs=requests, check=check, setup=_setup, memory_mib=3072, timeout_s=120.0
)
