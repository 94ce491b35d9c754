"""SI-Finder: synthesise side information Y_syn for X_dec from the decoded side view.

Ayzik and Avidan, "Deep Image Compression using Decoder Side Information" (ECCV 2020), §3.2:
X_dec is cut into non-overlapping ``patch x patch`` blocks; each block is compared, by Pearson
correlation, with every same-size block position of the side image; the correlation map is
multiplied by a 2-D Gaussian centred on the block's own position (sigma = half the image
height and width), and the best-scoring side block is copied into Y_syn at the block's place.

``band`` restricts the search to rows ``[row - band, row + band]`` around each block, the
epipolar option for rectified rigs (where a match lies on the same row): the cost drops from
O(H*W) to O(band*W) positions per block. Matching runs on luma; blocks are copied in colour
and, unless ``align_mean`` is off, shifted to the mean of the X_dec block they replace.

``overlap`` (our addition) runs the search on four block grids offset by half a block and
averages the four copies at every pixel: the seams of one grid fall inside the blocks of the
others, and a block the search got wrong is one vote of four. It costs four searches.

:func:`find_with_confidence` also returns, at every pixel, the Pearson correlation of the match
that was copied there (averaged over the grids with ``overlap``): the guided SI-Net
(:mod:`pipeline.codec.model.si_net`) reads it to tell a block that matched from one that did not.

:func:`find_matches` also returns every block's match, and can search each block only among the
positions within ``radius`` (rows, columns) of a match given for it (the previous frame's, in a
stream: a warm start, :mod:`pipeline.codec.model.si_track`) instead of its whole band: the same
scores (Pearson correlation times the Gaussian prior, inside the band and the disparity window)
on fewer candidates. With ``coarse`` the window is searched at half resolution and refined as
usual.

Here: the settings, the grids (both views padded, turned into luma and given their window norms
once for all four), the copying of the blocks; the search itself is
:mod:`pipeline.codec.model.si_search`.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from pipeline.codec.model.si_search import (
    REFINE,
    Side,
    Warm,
    coarse_to_fine,
    gather_windows,
    normalised_blocks,
    search,
)

_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class SIFinderConfig:
    """How the SI-Finder searches.

    ``patch``: block size in pixels; ``band``: rows searched either side of the block's row
    (None searches the whole side image, as in the paper); ``sigma_scale``: Gaussian sigma as
    a fraction of the image height/width (0.5 in the paper); ``align_mean``: shift each copied
    block to the mean of its X_dec block (our addition: Pearson matching ignores gain and
    offset between the cameras, so the copy is brought to the primary view's level);
    ``overlap``: average the Y_syn of four grids offset by half a block (module docstring);
    ``disparity``: ``(lo, hi)`` column offsets of the candidates relative to the block's own
    column (a rectified rig's right view shows a left block at ``x - d``, so ``(-d_max, slack)``;
    None searches the whole row, as in the paper); ``coarse``: search both views at half
    resolution, then refine each block among the 3 x 3 positions around its match (a
    sixteenth of the search's work).
    """

    patch: int = 16
    band: int | None = None
    sigma_scale: float = 0.5
    align_mean: bool = True
    overlap: bool = False
    disparity: tuple[int, int] | None = None
    coarse: bool = False


@dataclass(frozen=True)
class Found:
    """What the SI-Finder found for one image: ``y_syn`` (3, H, W), ``confidence`` (1, H, W),
    and for each block grid searched (one, or four with ``overlap``) each block's match, the
    top-left (y, x) of its side block (rows, cols, 2), its Pearson correlation (rows, cols),
    and the positions and correlations of the search a warm start replaces (``searched``: the
    half-resolution search's with ``coarse``, else the matches'); ``full_blocks``: the blocks
    searched in full (every block without ``previous``, the windows' misses with it)."""

    y_syn: Tensor
    confidence: Tensor
    matches: tuple[Tensor, ...]
    scores: tuple[Tensor, ...]
    searched: tuple[tuple[Tensor, Tensor], ...]
    full_blocks: int

    @property
    def blocks(self) -> int:
        """Blocks searched, over every grid."""
        return sum(s.numel() for s in self.scores)


def luma(image: Tensor) -> Tensor:
    """(3, H, W) RGB in [0, 1] to (1, H, W) luma."""
    weights = image.new_tensor(_LUMA)[:, None, None]
    return (image * weights).sum(dim=0, keepdim=True)


def find_side_information(x_dec: Tensor, side: Tensor, config: SIFinderConfig) -> Tensor:
    """Y_syn for one image: ``x_dec`` (3, H, W) and ``side`` (3, H', W'), any sizes.

    Returns a (3, H, W) tensor assembled from blocks of ``side``.
    """
    return find_with_confidence(x_dec, side, config)[0]


def find_with_confidence(
    x_dec: Tensor, side: Tensor, config: SIFinderConfig
) -> tuple[Tensor, Tensor]:
    """Y_syn (3, H, W) and the match confidence (1, H, W), in [-1, 1], for one image.

    The confidence of a pixel is the Pearson correlation between its X_dec block and the side
    block copied there (the mean over the four grids with ``overlap``).
    """
    found = find_matches(x_dec, side, config)
    return found.y_syn, found.confidence


def find_matches(
    x_dec: Tensor,
    side: Tensor,
    config: SIFinderConfig,
    previous: Found | None = None,
    radius: tuple[int, int] = (4, 8),
    drop: float = 0.05,
    executor: Executor | None = None,
) -> Found:
    """:func:`find_with_confidence` with every block's match. Given ``previous`` (found in an
    image of the same sizes with the same config: a warm start), each block is searched only
    within ``radius`` (rows, columns) of its previous match (a rectified or fixed rig's matches
    keep their row; their columns follow the depth), and searched in full where that misses:
    where the best candidate lies on the window's edge (the match moved further), or where its
    correlation fell more than ``drop`` below the previous one's (the content changed).
    ``executor``: threads that search the block grids at once (the grids are independent;
    None: one after the other)."""
    grids = ((0, 0),)
    if config.overlap:
        half = config.patch // 2
        grids = ((0, 0), (0, half), (half, 0), (half, half))
    if previous is not None and len(previous.matches) != len(grids):
        raise ValueError(f"previous: {len(grids)} grids of matches, not {len(previous.matches)}")
    padded = _Padded.of(x_dec, side, config, max(max(g) for g in grids))

    def grid(i: int) -> Grid:
        warm = None if previous is None else Warm(*previous.searched[i], radius, drop)
        return _find_offset(padded, config, *grids[i], warm)

    found = list((executor.map if executor is not None else map)(grid, range(len(grids))))
    y_syn, confidence, matches, scores, searched, full = zip(*found, strict=True)
    if len(grids) > 1:
        y_syn, confidence = (torch.stack(y_syn).mean(0),), (torch.stack(confidence).mean(0),)
    return Found(y_syn[0], confidence[0], matches, scores, searched, sum(full))


@dataclass(frozen=True)
class _Grid:
    """One block grid's views: X_dec (3, H, W) and its luma (1, H, W), the side view (3, H',
    W'), its luma and norms, and (for ``coarse``) the half-resolution ones (None: computed by
    the search)."""

    x: Tensor
    x_luma: Tensor
    side: Tensor
    full: Side
    small: Side | None


@dataclass(frozen=True)
class _Padded:
    """X_dec and the side view padded once for every block grid: ``margin`` replicated rows and
    columns at the top left, and at the bottom right as many as the grids need to end on a
    multiple of the patch; the luma of both and the side view's window norms (at half
    resolution too for ``coarse``), computed once.

    A grid offset by (dy, dx) takes the part of each that starts ``margin - dy`` rows and
    ``margin - dx`` columns in: the views padded by (dy, dx) at the top left and to a multiple
    of the patch at the bottom right, as the paper's grid is at an offset of zero."""

    x: Tensor
    x_luma: Tensor
    side: Tensor
    full: Side
    small: Side | None
    margin: int
    x_size: tuple[int, int]
    side_size: tuple[int, int]

    @classmethod
    def of(cls, x_dec: Tensor, side: Tensor, config: SIFinderConfig, margin: int) -> _Padded:
        """Both views (3, H, W) and (3, H', W') for grids offset by 0 or ``margin``."""
        p = config.patch
        x, x_size = _pad_for_grids(x_dec, p, margin), tuple(x_dec.shape[-2:])
        side_padded, side_size = _pad_for_grids(side, p, margin), tuple(side.shape[-2:])
        full = Side.of(luma(side_padded)[0], p)
        small = None  # shared only where every grid starts on the half-resolution pixel grid
        if config.coarse and margin % 2 == 0:
            small = Side.of(F.avg_pool2d(full.luma[None, None], 2)[0, 0], p // 2)
        return cls(x, luma(x), side_padded, full, small, margin, x_size, side_size)

    def grid(self, dy: int, dx: int, p: int) -> _Grid:
        """The views of the grid at (dy, dx)."""
        top, left = self.margin - dy, self.margin - dx
        hx, wx = _ceil(self.x_size[0] + dy, p), _ceil(self.x_size[1] + dx, p)
        hs, ws = _ceil(self.side_size[0] + dy, p), _ceil(self.side_size[1] + dx, p)
        rows, cols = slice(top, top + hx), slice(left, left + wx)
        small = None
        if self.small is not None:
            small = self.small.part(top // 2, left // 2, hs // 2, ws // 2, p // 2)
        return _Grid(
            self.x[:, rows, cols],
            self.x_luma[:, rows, cols],
            self.side[:, top : top + hs, left : left + ws],
            self.full.part(top, left, hs, ws, p),
            small,
        )


def _ceil(n: int, p: int) -> int:
    return n + (-n % p)


def _pad_for_grids(image: Tensor, p: int, margin: int) -> Tensor:
    """``image`` (C, H, W) replicate-padded for :class:`_Padded` (grids at 0 and ``margin``)."""
    height, width = image.shape[-2:]
    bottom = max(_ceil(height + d, p) - height - d for d in (0, margin))
    right = max(_ceil(width + d, p) - width - d for d in (0, margin))
    if margin == bottom == right == 0:
        return image
    return F.pad(image[None], (margin, right, margin, bottom), mode="replicate")[0]


Grid = tuple[Tensor, Tensor, Tensor, Tensor, tuple[Tensor, Tensor], int]
"""One block grid's Y_syn, confidence, matches, their scores, the positions and scores of the
search a warm start replaces, and how many blocks were searched in full."""


def _find_offset(
    padded: _Padded, config: SIFinderConfig, dy: int, dx: int, warm: Warm | None
) -> Grid:
    """Y_syn on the block grid shifted by (dy, dx): both views padded at the top left.

    Padding the side view too keeps every epipolar row where it was relative to the blocks;
    the Gaussian centres move by (dy, dx), negligible against sigma (half the image).
    """
    p = config.patch
    grid = padded.grid(dy, dx, p)
    height, width = padded.x_size[0] + dy, padded.x_size[1] + dx
    blocks = normalised_blocks(grid.x_luma, p)  # (rows, cols, p*p)
    size, side = (height, width), grid.full
    # The refinement needs (2 REFINE + 1)² window positions; a side view one block tall or
    # wide has a single row or column of them, and the full search costs nothing there.
    if config.coarse and min(grid.side.shape[-2:]) >= p + 2 * REFINE:
        best, scores, searched, full = coarse_to_fine(
            blocks, grid.x_luma, side.luma, config, size, warm, side.norm, grid.small
        )
    else:
        best, scores, full = search(blocks, side.luma, config, size, warm, side.norm)
        searched = (best, scores)
    y_syn = _assemble(grid.side, best, p, grid.x if config.align_mean else None)
    confidence = F.interpolate(scores[None, None], scale_factor=p, mode="nearest")[0]
    crop = (slice(None), slice(dy, height), slice(dx, width))
    return y_syn[crop], confidence[crop], best, scores, searched, full


def _assemble(side: Tensor, best: Tensor, p: int, x: Tensor | None = None) -> Tensor:
    """Copy the side block at ``best[r, c]`` into block (r, c) of the output; given ``x``
    (X_dec on the same grid), each copied block shifted by the difference of the block means
    (per channel)."""
    rows, cols = best.shape[:2]
    patches = gather_windows(side, best[..., 0], best[..., 1], p, p)  # (C, rows * cols, p, p)
    if x is not None:  # X_dec's blocks laid out as the copies, so equal blocks get no shift
        x_blocks = x.unfold(1, p, p).unfold(2, p, p).reshape(patches.shape)
        shift = x_blocks.mean(dim=(-2, -1)) - patches.mean(dim=(-2, -1))
        patches = patches + shift[..., None, None]
    patches = patches.view(side.shape[0], rows, cols, p, p).permute(0, 1, 3, 2, 4)
    return patches.reshape(side.shape[0], rows * p, cols * p)
