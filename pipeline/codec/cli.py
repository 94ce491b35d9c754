"""``stereo-pipeline encode`` and ``stereo-pipeline decode``: one image file at a time.

Encoding with a standard codec needs no torch (a camera host's install); decoding does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from pipeline.codec.api import DecodeRequest, Role
from pipeline.codec.bitstream.container import read_header
from pipeline.codec.family import STANDARD, VIDEO, family_of_codec, make_encoder
from pipeline.codec.inputs import read_image
from pipeline.codec.standard import CAMERA_CODECS
from pipeline.codec.weights import select
from pipeline.help_text import command_parser


def write_image(path: str, image: np.ndarray) -> None:
    """Write grey or RGB uint8 to ``path`` (format from the extension)."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    if not cv2.imwrite(path, bgr):
        raise ValueError(f"{path}: could not write image")


def encode_main(argv: list[str]) -> int:
    """Encode IMAGE into a bitstream file."""
    parser = command_parser("stereo-pipeline encode", encode_main.__doc__)
    parser.add_argument("image", help="image file to encode (grey stays grey)")
    parser.add_argument("-o", "--output", required=True, help="bitstream file to write (.sic)")
    parser.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.PRIMARY.value,
        help="primary: the left view, decoded with side information; side: the right view",
    )
    parser.add_argument(
        "--codec",
        choices=CAMERA_CODECS,
        default="dsin",
        help="dsin (the learned codec) or a standard one, decoded with side information too",
    )
    parser.add_argument("--model", default=None, help="registry model id (default: the codec's)")
    parser.add_argument(
        "--quality", type=int, default=None, help="codec quality (default: the codec's default)"
    )
    parser.add_argument("--weights-dir", type=Path, help="encode with the model's file there")
    parser.add_argument("--weights-hash", default="", help="which file, when there are several")
    args = parser.parse_args(argv)
    weights = None
    if args.weights_dir or args.weights_hash:
        name = family_of_codec(args.codec).weights_name(args.codec, args.model)
        weights = select(name, args.weights_dir, args.weights_hash)
    encoder = make_encoder(args.codec, args.model, weights)
    data = encoder.encode(read_image(args.image), Role(args.role), args.quality)
    Path(args.output).write_bytes(data)
    header = read_header(data)
    bpp = 8 * len(data) / (header.height * header.width)
    print(f"{args.output}: {len(data)} bytes, {bpp:.4f} bpp, quality {header.quality}")
    return 0


def decode_main(argv: list[str]) -> int:
    """Decode a bitstream file into an image, optionally with the right view as side information."""
    parser = command_parser("stereo-pipeline decode", decode_main.__doc__)
    parser.add_argument("bitstream", help="bitstream file to decode (.sic)")
    parser.add_argument(
        "-o", "--output", required=True, help="image file to write (format from the extension)"
    )
    parser.add_argument(
        "--side-info", default=None, help="right view: a .sic bitstream or an image"
    )
    parser.add_argument(
        "--band",
        type=int,
        default=None,
        help="SI-Finder: rows searched either side of each block (0: whole image; "
        "default: the model's setting, an epipolar band for rectified rigs)",
    )
    parser.add_argument(
        "--device", default="auto", help="auto (a GPU if there is one), cpu, cuda or cuda:N"
    )
    parser.add_argument("--weights-dir", type=Path, help="more weights sets (docs/weights.md)")
    args = parser.parse_args(argv)
    data = Path(args.bitstream).read_bytes()
    model_id = read_header(data).model_id
    from pipeline.codec.decode.decoder import StereoDecoder  # torch: the `learned` extra

    pixels_family = STANDARD.serves_model(model_id) or VIDEO.serves_model(model_id)
    default = None if pixels_family else model_id  # a video view is refused, by name
    decoder = StereoDecoder(default, device=args.device, weights_dir=args.weights_dir)
    if args.band is not None:
        decoder.si_finder = replace(decoder.si_finder, band=args.band or None)
    request = DecodeRequest(primary=data, **_side_info(args.side_info))
    write_image(args.output, decoder.decode_batch([request]).pairs[0].left)
    return 0


def _side_info(path: str | None) -> dict[str, object]:
    if path is None:
        return {}
    raw = Path(path).read_bytes()
    if raw[:4] == b"SPIC":
        return {"side": raw}
    return {"side_image": read_image(path)}
