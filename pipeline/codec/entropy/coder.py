"""rANS coding of the integer latents with CompressAI's entropy coder and cached tables.

Encoding is CompressAI's ``RansEncoder``; decoding is :mod:`pipeline.codec.entropy.rans`, the same
arithmetic with every read bounds-checked (hostile bitstreams come from the network) and without
the GIL. The hyper-latent ``z`` is coded with the EntropyBottleneck's per-channel tables around the
integer-rounded medians, so ``z`` is an integer on both sides with no float step at all; the
latent ``y`` is coded in independent channel-group sub-streams with the GaussianConditional's
tables, so decoders can take the groups on several cores (or later the GPU) in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from compressai.ans import RansEncoder
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from torch import Tensor

from pipeline.codec.bitstream.errors import CorruptBitstreamError, WeightsError
from pipeline.codec.entropy import rans


@dataclass(frozen=True)
class CdfTables:
    """One entropy model's quantised CDFs as the Python lists the rANS coder takes."""

    cdfs: list[list[int]]
    lengths: list[int]
    offsets: list[int]
    arrays: rans.DecodeTables

    @classmethod
    def of(cls, model: EntropyBottleneck | GaussianConditional) -> CdfTables:
        """Read the tables of an updated entropy model; fail clearly if it has none."""
        if model._quantized_cdf.numel() == 0 or model._offset.numel() == 0:
            raise WeightsError("entropy model has no CDF tables: export with update(force=True)")
        cdfs = model._quantized_cdf.tolist()
        lengths = model._cdf_length.reshape(-1).int().tolist()
        offsets = model._offset.reshape(-1).int().tolist()
        return cls(cdfs, lengths, offsets, rans.DecodeTables.of(cdfs, lengths, offsets))

    def encode(self, symbols: Tensor, indexes: Tensor) -> bytes:
        """rANS-encode integer ``symbols`` with per-symbol table ``indexes`` (same shape)."""
        return RansEncoder().encode_with_indexes(
            symbols.reshape(-1).int().tolist(),
            indexes.reshape(-1).int().tolist(),
            self.cdfs,
            self.lengths,
            self.offsets,
        )

    def decode(self, string: bytes, indexes: Tensor) -> Tensor:
        """Inverse of :meth:`encode`: an int32 tensor shaped like ``indexes``.

        Raises :class:`CorruptBitstreamError` for a stream that is short, long or malformed.
        """
        values = rans.decode(string, indexes.to(torch.int32).numpy(), self.arrays)
        return torch.from_numpy(values).view(indexes.shape)


class LatentCoder:
    """Codes one image's latents: ``z`` (C_z, h, w) and ``y`` (C, H, W) in channel groups."""

    def __init__(
        self, bottleneck: EntropyBottleneck, conditional: GaussianConditional, groups: int
    ) -> None:
        self.z_tables = CdfTables.of(bottleneck)
        self.y_tables = CdfTables.of(conditional)
        self.z_medians = torch.round(bottleneck._get_medians().detach().reshape(-1)).to(torch.int32)
        self.groups = groups

    def encode_z(self, z_int: Tensor) -> bytes:
        """``z_int`` (C_z, h, w) integers to one string."""
        symbols = z_int.to(torch.int32) - self.z_medians[:, None, None]
        return self.z_tables.encode(symbols, self._z_indexes(z_int.shape))

    def decode_z(self, string: bytes, shape: tuple[int, int, int]) -> Tensor:
        """Inverse of :meth:`encode_z`: (C_z, h, w) integer-valued float32 tensor."""
        symbols = self.z_tables.decode(string, self._z_indexes(shape))
        return (symbols + self.z_medians[:, None, None]).to(torch.float32)

    def encode_y(self, symbols: Tensor, indexes: Tensor) -> list[bytes]:
        """Latent symbols (C, H, W) to one independent string per channel group."""
        return [
            self.y_tables.encode(s, i)
            for s, i in zip(self._split(symbols), self._split(indexes), strict=True)
        ]

    def decode_y(self, strings: list[bytes], indexes: Tensor) -> Tensor:
        """Inverse of :meth:`encode_y`: int32 symbols shaped like ``indexes``."""
        if len(strings) != self.groups:
            raise CorruptBitstreamError(
                f"expected {self.groups} latent sub-streams, got {len(strings)}"
            )
        parts = [
            self.y_tables.decode(s, i) for s, i in zip(strings, self._split(indexes), strict=True)
        ]
        return torch.cat(parts, dim=0)

    def _split(self, t: Tensor) -> tuple[Tensor, ...]:
        return t.chunk(self.groups, dim=0)

    @staticmethod
    def _z_indexes(shape: tuple[int, ...]) -> Tensor:
        channels = torch.arange(shape[0], dtype=torch.int32)[:, None, None]
        return channels.expand(*shape)
