"""Weights folders: every set listed and hash-checked, and a decoder that serves them all."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from pipeline.codec import DecodeRequest, ImageEncoder, Role, StereoDecoder
from pipeline.codec.bitstream.container import Bitstream, parse
from pipeline.codec.bitstream.errors import ModelMismatchError, WeightsError
from pipeline.codec.model.registry import DEFAULT_MODEL, load_file
from pipeline.codec.weights import installed, named_hash, scan, select, weights_path
from tests.conftest import natural_image
from tests.weights_sets import perturbed_dsin

SHIPPED = named_hash(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def new_set(tmp_path_factory):
    """A folder holding one new dsin-s1 set (about 5 grey levels brighter)."""
    folder = tmp_path_factory.mktemp("weights")
    perturbed_dsin(folder)
    return folder


def test_a_folder_with_a_second_set_lists_both_sets_of_the_model(new_set, tmp_path):
    (path,) = new_set.glob("*.pt")
    shutil.copy(path, tmp_path)
    shutil.copy(weights_path(DEFAULT_MODEL), tmp_path)  # a copy of a built-in set: no new set
    (tmp_path / "README.txt").write_text("not weights")  # other files are left alone
    listed = [(f.name, f.digest) for f in installed(tmp_path)]
    new_hash = path.stem.rsplit("-", 1)[1]
    assert new_hash != SHIPPED
    assert sorted(d for n, d in listed if n == DEFAULT_MODEL) == sorted([SHIPPED, new_hash])
    names = [n for n, _ in listed]
    assert names.count("si-std1") == names.count("si-std2") == 1 and len(listed) == 4
    assert len(scan(tmp_path)) == 2


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("dsin-s1-0123456789abcdef.pt", "contents hash to"),  # renamed: the name lies
        ("dsin-s9-{hash}.pt", "'dsin-s9' is not a model this build knows"),
        ("dsin-s1.pt", "not named <model id>-<16 hex digits"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_naming_it(
    new_set, tmp_path, name, message
):
    (path,) = new_set.glob("*.pt")
    target = tmp_path / name.format(hash=path.stem.rsplit("-", 1)[1])
    shutil.copy(path, target)
    with pytest.raises(WeightsError, match=message) as raised:
        installed(tmp_path)
    assert str(target) in str(raised.value)


def test_a_tampered_file_is_refused(new_set, tmp_path):
    (path,) = new_set.glob("*.pt")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / path.name).write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="contents hash to"):
        scan(tmp_path)
    with pytest.raises(WeightsError, match="not a folder"):
        scan(tmp_path / "missing")


def test_a_camera_picks_one_set_by_hash_when_a_folder_holds_two(new_set, tmp_path):
    (path,) = new_set.glob("*.pt")
    shutil.copy(path, tmp_path)
    shutil.copy(weights_path(DEFAULT_MODEL), tmp_path)
    with pytest.raises(WeightsError, match="found 2"):
        select(DEFAULT_MODEL, tmp_path)
    assert select(DEFAULT_MODEL, tmp_path, SHIPPED).digest == SHIPPED
    assert select(DEFAULT_MODEL, new_set).path == path
    with pytest.raises(WeightsError, match="found 0"):
        select(DEFAULT_MODEL, new_set, SHIPPED)


def _with_hash(data: bytes, digest: str) -> bytes:
    bits = parse(data)
    return Bitstream(dataclasses.replace(bits.header, weights_hash=digest), bits.strings).to_bytes()


def test_the_decoder_decodes_each_bitstream_with_the_set_it_names(new_set, exact_decoder):
    (path,) = new_set.glob("*.pt")
    new = load_file(path)
    decoder = StereoDecoder(device="cpu", deterministic=True, weights_dir=new_set)
    assert sorted(decoder.models.held())[:2] == sorted(
        [(DEFAULT_MODEL, SHIPPED), (DEFAULT_MODEL, new.weights_hash)]
    )
    left, right = natural_image(64, 64, seed=1), natural_image(64, 64, seed=2)
    old_enc, new_enc = ImageEncoder(), ImageEncoder(loaded=new)
    old_pair = DecodeRequest(old_enc.encode(left, Role.PRIMARY), old_enc.encode(right, Role.SIDE))
    new_pair = DecodeRequest(new_enc.encode(left, Role.PRIMARY), new_enc.encode(right, Role.SIDE))
    mixed = decoder.decode_batch([old_pair, new_pair])  # one batch, two sets
    reference = exact_decoder.decode_batch([old_pair]).pairs[0]
    assert np.array_equal(mixed.pairs[0].left, reference.left)
    # The same latents through the built-in synthesis: the new set's output is ~5 levels brighter.
    as_old = DecodeRequest(*(_with_hash(b, SHIPPED) for b in (new_pair.primary, new_pair.side)))
    old_decode = decoder.decode_batch([as_old]).pairs[0]
    brighter = mixed.pairs[1].right.astype(float) - old_decode.right.astype(float)
    assert 3.0 < brighter.mean() < 7.0
    unknown = DecodeRequest(_with_hash(new_pair.primary, "ab" * 8))
    with pytest.raises(ModelMismatchError, match=f"{DEFAULT_MODEL} {new.weights_hash}"):
        decoder.decode_batch([unknown])


def test_encode_and_decode_commands_take_a_weights_folder(new_set, tmp_path):
    import cv2

    from pipeline.codec.bitstream.container import read_header
    from pipeline.codec.cli import decode_main, encode_main

    image, bits, out = tmp_path / "in.png", tmp_path / "in.sic", tmp_path / "out.png"
    cv2.imwrite(str(image), natural_image(48, 64, seed=3))
    assert encode_main([str(image), "-o", str(bits), "--weights-dir", str(new_set)]) == 0
    assert read_header(bits.read_bytes()).weights_hash == next(new_set.glob("*")).stem[-16:]
    with pytest.raises(ModelMismatchError):
        decode_main([str(bits), "-o", str(out), "--device", "cpu"])
    assert (
        decode_main([str(bits), "-o", str(out), "--device", "cpu", "--weights-dir", str(new_set)])
        == 0
    )
    assert cv2.imread(str(out)).shape == (48, 64, 3)


def test_the_torch_free_list_of_learned_models_matches_the_registry():
    from pipeline.codec.model.registry import REGISTRY
    from pipeline.codec.weights import LEARNED_MODEL_IDS

    assert set(LEARNED_MODEL_IDS) == set(REGISTRY)
