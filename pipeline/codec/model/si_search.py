"""The SI-Finder's block search: each block's best position in the side view.

The scores are those of :mod:`pipeline.codec.model.si_finder` (Pearson correlation times the
Gaussian prior centred on the block's own position, inside the epipolar band and the disparity
window): :func:`best_positions` searches every position of each block's band (one convolution
per block row, its blocks as the kernels), :func:`coarse_to_fine` searches at half resolution
and refines among the 3 x 3 full-resolution positions around each match, and :func:`search`
with a :class:`Warm` start searches each block in a window around its previous match, then in
full where the window missed. A :class:`Side` holds the side view's luma and window norms.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from pipeline.codec.model.si_finder import SIFinderConfig

_EPS = 1e-6
#: Smallest side-window norm: a window flatter than this (luma spread under about a tenth of a
#: grey level over the block) has no defined correlation and must not win on rounding noise.
_FLAT = 1e-3
#: Full-resolution pixels either side of the half-resolution match that ``coarse`` refines.
REFINE = 1


@dataclass(frozen=True)
class Warm:
    """One grid's previous search: its positions (rows, cols, 2) and correlations (rows, cols),
    the radius searched around them, and the fall in correlation that counts as a miss."""

    matches: Tensor
    scores: Tensor
    radius: tuple[int, int]
    drop: float


@dataclass(frozen=True)
class Side:
    """The side view's luma (H, W) at one resolution and its window norms for one patch size
    (:func:`window_norm`)."""

    luma: Tensor
    norm: Tensor

    @classmethod
    def of(cls, side_luma: Tensor, p: int) -> Side:
        """``side_luma`` and its norms."""
        return cls(side_luma, window_norm(side_luma, p))

    def part(self, top: int, left: int, height: int, width: int, p: int) -> Side:
        """The ``height x width`` part from (``top``, ``left``) on, as if computed for it alone
        (the norms up to float rounding); its luma contiguous (it is searched many times)."""
        rows, cols = slice(top, top + height), slice(left, left + width)
        norm = self.norm[top : top + height - p + 1, left : left + width - p + 1]
        return Side(self.luma[rows, cols].contiguous(), norm)


def search(
    blocks: Tensor,
    side_luma: Tensor,
    config: SIFinderConfig,
    size: tuple[int, int],
    warm: Warm | None,
    norm: Tensor | None = None,
) -> tuple[Tensor, Tensor, int]:
    """Each block's best position and correlation: the whole search, or with ``warm`` the
    window around its previous match, then the whole search for the blocks the window missed;
    and how many blocks were searched in full. ``norm``: :func:`window_norm` of the side view,
    when the caller has it."""
    if norm is None:
        norm = window_norm(side_luma, config.patch)
    if warm is None:
        everything = blocks.shape[0] * blocks.shape[1]
        return *best_positions(blocks, side_luma, config, size, None, norm), everything
    window = (warm.matches, config, size, warm.radius, True, norm)
    best, scores, edge = _candidates(blocks, side_luma, *window)
    missed = edge | (scores < warm.scores - warm.drop)
    if not bool(missed.any()):
        return best, scores, 0
    again, again_scores = best_positions(blocks, side_luma, config, size, missed, norm)
    best = torch.where(missed[..., None], again, best)
    return best, torch.where(missed, again_scores, scores), int(missed.sum())


def best_positions(
    blocks: Tensor,
    side_luma: Tensor,
    config: SIFinderConfig,
    size: tuple[int, int],
    only: Tensor | None = None,
    side_norm: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Best (y, x) side-image position of every block (rows, cols, 2), and its correlation;
    ``only`` (rows, cols): search just those blocks (the others' entries are zero);
    ``side_norm``: :func:`window_norm` of the side view, when the caller has it.

    Each block row's blocks are the kernels of a convolution over the row's epipolar band of
    the side view (:func:`_band_numerators`); the prior, the normalisation and the argmax are
    tensor work over as many block rows at once as :data:`SCORES_PER_CALL` allows (one at a
    time without a band, whose band is the whole side view).
    """
    p = config.patch
    rows, cols = blocks.shape[:2]
    if side_norm is None:
        side_norm = window_norm(side_luma, p)  # (H'-p+1, W'-p+1)
    band = _Band.of(side_norm, config, size)
    prior = _column_prior(cols, side_norm.shape[1], p, config, size, blocks.device)
    best = torch.zeros(rows, cols, 2, dtype=torch.long, device=blocks.device)
    scores = torch.zeros(rows, cols, device=blocks.device)
    counts = [cols] * rows if only is None else only.sum(dim=1).tolist()
    for group in _row_groups(counts, band.height * side_norm.shape[1]):
        block_rows = torch.tensor(group, device=blocks.device)
        r, c, found, pearson = _best_in_bands(blocks, side_luma, block_rows, only, band, prior)
        best[r, c], scores[r, c] = found, pearson
    return best, scores


SCORES_PER_CALL = 1 << 18
"""Scores (block, band row, column) the search computes at once: 1 MB of float32, which stays
in a core's cache over the passes that make a score (more ran slower)."""


def _row_groups(counts: list[int], scores_per_block: int) -> list[list[int]]:
    """Block rows with blocks to search (``counts`` a row), in consecutive groups of at most
    :data:`SCORES_PER_CALL` scores (a row at least)."""
    groups: list[list[int]] = []
    total = SCORES_PER_CALL
    for row, count in enumerate(counts):
        if count == 0:
            continue
        if total + count * scores_per_block > SCORES_PER_CALL:
            groups.append([])
            total = 0
        groups[-1].append(row)
        total += count * scores_per_block
    return groups


@dataclass(frozen=True)
class _Band:
    """The side-view rows a block row searches: ``height`` rows from its first (its band, moved
    inside the side view where it would leave it), of which those from ``lo`` to ``hi`` count;
    the reciprocal window norms and the prior's sigma over rows."""

    patch: int
    height: int
    radius: int | None
    max_y: int
    inverse_norm: Tensor
    sigma_y: float

    @classmethod
    def of(cls, side_norm: Tensor, config: SIFinderConfig, size: tuple[int, int]) -> _Band:
        """The bands of ``config`` in a side view whose window norms are ``side_norm``."""
        max_y = side_norm.shape[0] - 1
        height = max_y + 1 if config.band is None else min(2 * config.band + 1, max_y + 1)
        sigma_y = config.sigma_scale * size[0]
        return cls(config.patch, height, config.band, max_y, 1.0 / side_norm, sigma_y)

    def rows(self, tops: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """For block rows whose first pixel rows are ``tops``: the first side row searched, and
        the first and last that count."""
        if self.radius is None:
            zero = torch.zeros_like(tops)
            return zero, zero, zero + self.max_y
        lo = (tops.clamp(max=self.max_y) - self.radius).clamp(min=0)
        hi = (tops + self.radius).clamp(max=self.max_y)
        return lo.clamp(max=self.max_y + 1 - self.height), lo, hi


def _best_in_bands(
    blocks: Tensor,
    side_luma: Tensor,
    block_rows: Tensor,
    pick: Tensor | None,
    band: _Band,
    prior: tuple[Tensor, Tensor | None],
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The blocks ``pick`` (rows, cols) selects in ``block_rows`` (None: all), each searched in
    its band: their rows and columns (n,), best positions (n, 2) and correlations (n,)."""
    p = band.patch
    tops = block_rows * p
    start, lo, hi = band.rows(tops)
    span = torch.arange(band.height + p - 1, device=blocks.device)
    strips = side_luma[start[:, None] + span]  # (k, height + p - 1, W)
    kernels = blocks[block_rows].view(len(block_rows), -1, p, p)
    picked = None if pick is None else pick[block_rows]
    numerator = _band_numerators(strips, kernels, picked)  # (n, height, positions)
    if picked is None:
        k = torch.arange(len(block_rows), device=blocks.device).repeat_interleave(kernels.shape[1])
        c = torch.arange(kernels.shape[1], device=blocks.device).repeat(len(block_rows))
    else:
        k, c = picked.nonzero(as_tuple=True)
    rows = start[:, None] + span[: band.height]  # (k, height): each block row's side rows
    gy = torch.exp(-((rows - tops[:, None]).float() ** 2) / (2 * band.sigma_y**2))
    factor = gy[..., None] * band.inverse_norm[rows]  # (k, height, positions): a row's blocks'
    outside = (rows < lo[:, None]) | (rows > hi[:, None])
    gx, allowed = prior
    # score = Pearson * prior = numerator * (gy / norm) * gx: two passes over the big tensor
    score = numerator * factor[k]
    score.mul_(gx[c, None, :])
    score.masked_fill_(outside[k, :, None], float("-inf"))
    if allowed is not None:
        score.masked_fill_(~allowed[c, None, :], float("-inf"))
    positions = score.shape[-1]
    flat = score.flatten(1).argmax(dim=1)
    y = start[k] + flat // positions
    x = flat % positions
    pearson = numerator.flatten(1).gather(1, flat[:, None])[:, 0] * band.inverse_norm[y, x]
    return block_rows[k], c, torch.stack([y, x], dim=1), pearson.clamp(-1.0, 1.0)


def _band_numerators(strips: Tensor, kernels: Tensor, pick: Tensor | None) -> Tensor:
    """Pearson numerators of each block row's blocks (k, cols, p, p), those ``pick`` (k, cols)
    selects (None: all), at every position of the row's strip of the side view (k, h, W):
    (n, h - p + 1, W - p + 1), row after row.

    One convolution per strip, its blocks as the kernels: the fastest form measured on a CPU
    (a grouped convolution over every strip at once ran 1.5 to 2 times slower with oneDNN and
    5 to 10 times slower without it; a row's picked blocks alone, not the whole row's, cost a
    third of it where a few blocks are picked, as in a warm start's misses)."""
    rows = []
    for i, (strip, row) in enumerate(zip(strips, kernels, strict=True)):
        chosen = row if pick is None else row[pick[i]]
        rows.append(F.conv2d(strip[None, None], chosen[:, None])[0])
    return torch.cat(rows)


def coarse_to_fine(
    blocks: Tensor,
    x_luma: Tensor,
    side_luma: Tensor,
    config: SIFinderConfig,
    size: tuple[int, int],
    warm: Warm | None = None,
    norm: Tensor | None = None,
    small_side: Side | None = None,
) -> tuple[Tensor, Tensor, Tensor, int]:
    """The search on both views at half resolution (a sixteenth of the work), then each
    block's best position refined among the full-resolution positions around it; with
    ``warm`` (the previous half-resolution search), that search runs in windows half its
    radius wide (:func:`search`). Also the half-resolution positions and correlations, and
    how many blocks were searched in full. ``x_luma``: X_dec's luma (1, H, W); ``norm`` and
    ``small_side``: the side view's full-resolution norms and its half-resolution luma and
    norms, when the caller has them."""
    half = config.patch // 2
    small = dataclasses.replace(
        config,
        patch=half,
        band=None if config.band is None else config.band // 2,
        disparity=None if config.disparity is None else tuple(d // 2 for d in config.disparity),
    )
    x_small = F.avg_pool2d(x_luma[None], 2)[0]
    if small_side is None:
        small_side = Side.of(F.avg_pool2d(side_luma[None, None], 2)[0, 0], half)
    small_blocks, small_size = normalised_blocks(x_small, half), (size[0] // 2, size[1] // 2)
    if warm is not None:
        warm = dataclasses.replace(warm, radius=tuple(max(1, r // 2) for r in warm.radius))
    args = (small_blocks, small_side.luma, small, small_size, warm, small_side.norm)
    coarse, searched, full = search(*args)
    fine = _refine(blocks, side_luma, coarse * 2, config, size, norm)
    return *fine, (coarse, searched), full


def _refine(
    blocks: Tensor,
    side_luma: Tensor,
    guess: Tensor,
    config: SIFinderConfig,
    size: tuple[int, int],
    norm: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Best of the (2 :data:`REFINE` + 1)² positions around each block's ``guess`` (rows, cols,
    2), kept inside the side view, scored as the full search scores them (Pearson correlation
    times the Gaussian prior; the disparity window already held for the guess, the pixels
    around it are not checked again)."""
    radius = (REFINE, REFINE)
    return _candidates(blocks, side_luma, guess, config, size, radius, False, norm)[:2]


def _candidates(
    blocks: Tensor,
    side_luma: Tensor,
    guess: Tensor,
    config: SIFinderConfig,
    size: tuple[int, int],
    radius: tuple[int, int],
    bounded: bool,
    norm: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The best-scoring of the (2 ``radius`` + 1) positions (rows x columns) around each
    block's ``guess`` (rows, cols, 2), moved inside the side view, and its correlation;
    ``bounded`` (a warm start's window search): only the positions the full search would score
    (in the band and the disparity window, the guess moved into them first). ``norm``:
    :func:`window_norm` of the side view, when the caller has it. Also whether the best lies
    on the window's edge away from the side view's border (the match may have moved further).
    """
    p = config.patch
    rows, cols = blocks.shape[:2]
    norm = window_norm(side_luma, p) if norm is None else norm
    if bounded:
        guess = _into_window(guess, norm.shape[0] - 1, config)
    ny, nx = (min(2 * r + 1, n) for r, n in zip(radius, norm.shape, strict=True))
    y0 = (guess[..., 0] - radius[0]).clamp(0, norm.shape[0] - ny)  # (rows, cols): first one
    x0 = (guess[..., 1] - radius[1]).clamp(0, norm.shape[1] - nx)
    # one region per block holds all its candidate windows
    regions = gather_windows(side_luma, y0, x0, p + ny - 1, p + nx - 1)
    numerator = _numerators(regions, blocks.view(rows * cols, p, p)).view(rows, cols, ny, nx)
    ys = y0[..., None, None] + torch.arange(ny, device=blocks.device)[:, None]
    xs = x0[..., None, None] + torch.arange(nx, device=blocks.device)[None, :]
    pearson = numerator / norm[ys, xs]  # (rows, cols, ny, nx)
    sigma_y, sigma_x = (config.sigma_scale * s for s in size)
    top = (torch.arange(rows, device=blocks.device) * p)[:, None, None, None]
    left = (torch.arange(cols, device=blocks.device) * p)[None, :, None, None]
    prior = torch.exp(-((ys - top) ** 2) / (2 * sigma_y**2) - (xs - left) ** 2 / (2 * sigma_x**2))
    score = pearson * prior
    if bounded:
        allowed = _allowed(ys - top, xs - left, top, norm.shape[0] - 1, config)
        score = score.masked_fill(~allowed, float("-inf"))
    pick = score.flatten(2).argmax(dim=2)
    best = torch.stack([y0 + pick // nx, x0 + pick % nx], dim=-1)
    chosen = pearson.flatten(2).gather(2, pick[..., None])[..., 0].clamp(-1.0, 1.0)
    return best, chosen, _on_edge(best - torch.stack([y0, x0], dim=-1), (ny, nx), best, norm.shape)


def _numerators(regions: Tensor, blocks: Tensor) -> Tensor:
    """Each of n blocks (n, p, p) against every ``p x p`` window of its region (n, h, w): the
    Pearson numerators (n, h - p + 1, w - p + 1), the blocks being zero-mean and of unit norm.

    One grouped convolution, a block its region's kernel (4 to 8 times faster than the
    windows' einsum with oneDNN); without oneDNN (the decoder's deterministic mode) PyTorch's
    own grouped convolution is 10 times slower than the einsum, which runs there instead."""
    p = blocks.shape[-1]
    if regions.device.type == "cpu" and not torch.backends.mkldnn.enabled:
        return torch.einsum("nyxij,nij->nyx", regions.unfold(1, p, 1).unfold(2, p, 1), blocks)
    return F.conv2d(regions[None], blocks[:, None], groups=blocks.shape[0])[0]


def _on_edge(offset: Tensor, window: tuple[int, int], best: Tensor, shape) -> Tensor:
    """Whether each pick, ``offset`` (rows, cols, 2) into its window, lies on the window's
    edge where the side view goes on beyond it."""
    edge = torch.zeros(best.shape[:2], dtype=torch.bool, device=best.device)
    for axis in (0, 1):
        low = (offset[..., axis] == 0) & (best[..., axis] > 0)
        high = (offset[..., axis] == window[axis] - 1) & (best[..., axis] < shape[axis] - 1)
        edge |= low | high
    return edge


def _into_window(guess: Tensor, max_y: int, config: SIFinderConfig) -> Tensor:
    """Each block's ``guess`` (rows, cols, 2) moved into its band and disparity window."""
    p = config.patch
    y, x = guess[..., 0], guess[..., 1]
    if config.band is not None:
        top = (torch.arange(guess.shape[0], device=guess.device) * p)[:, None]
        y = y.clamp(min=(top.clamp(max=max_y) - config.band).clamp(min=0)).clamp(
            max=top + config.band
        )
    if config.disparity is not None:
        left = (torch.arange(guess.shape[1], device=guess.device) * p)[None, :]
        x = x.clamp(min=left + config.disparity[0]).clamp(max=left + config.disparity[1])
    return torch.stack([y, x], dim=-1)


def _allowed(dy: Tensor, dx: Tensor, top: Tensor, max_y: int, config: SIFinderConfig) -> Tensor:
    """Where the full search looks: candidates ``dy`` rows and ``dx`` columns from their block
    (whose first row is ``top``) inside the band and the disparity window; a block with no
    such candidate among them keeps them all (its nearest is then as good as any)."""
    allowed = torch.ones(
        torch.broadcast_shapes(dy.shape, dx.shape), dtype=torch.bool, device=dy.device
    )
    if config.band is not None:
        lo = (top.clamp(max=max_y) - config.band).clamp(min=0) - top
        allowed &= (dy >= lo) & (dy <= config.band)
    if config.disparity is not None:
        allowed &= (dx >= config.disparity[0]) & (dx <= config.disparity[1])
    return allowed | ~allowed.flatten(2).any(dim=2)[..., None, None]


def _column_prior(
    cols: int, positions: int, p: int, config: SIFinderConfig, size: tuple[int, int], device
) -> tuple[Tensor, Tensor | None]:
    """The Gaussian prior over candidate columns of each block column (cols, positions), and
    where the disparity window allows a candidate (always somewhere: the nearest column;
    None without a window)."""
    sigma_x = config.sigma_scale * size[1]
    offsets = (
        torch.arange(positions, device=device)[None, :]
        - torch.arange(cols, device=device)[:, None] * p
    )
    gx = torch.exp(-(offsets.float() ** 2) / (2 * sigma_x**2))
    if config.disparity is None:
        return gx, None
    lo, hi = config.disparity
    allowed = (offsets >= lo) & (offsets <= hi)
    nearest = (offsets - offsets.clamp(lo, hi)).abs().argmin(dim=1)
    allowed[torch.arange(cols, device=device), nearest] = True
    return gx, allowed


def normalised_blocks(image: Tensor, p: int) -> Tensor:
    """(1, H, W) to (rows, cols, p*p) zero-mean, unit-norm blocks (Pearson numerators)."""
    blocks = image.unfold(1, p, p).unfold(2, p, p)[0].reshape(image.shape[1] // p, -1, p * p)
    blocks = blocks - blocks.mean(dim=-1, keepdim=True)
    return blocks / (blocks.norm(dim=-1, keepdim=True) + _EPS)


def window_norm(image: Tensor, p: int) -> Tensor:
    """Norm of the zero-mean ``p x p`` window at every position of (H, W): the Pearson
    denominator, from integral images in float64 (float32 sums of squares lose the small
    variances to cancellation), at least :data:`_FLAT`."""
    values = image.double()
    total, squares = _box_sums(torch.stack([values, values**2]), p)
    variance = (squares - total**2 / (p * p)).clamp_min(0.0)
    return torch.sqrt(variance).clamp_min(_FLAT).to(image.dtype)


def _box_sums(image: Tensor, p: int) -> Tensor:
    """Sum of every ``p x p`` window of (..., H, W): (..., H - p + 1, W - p + 1)."""
    padded = F.pad(image, (1, 0, 1, 0))
    integral = padded.cumsum(-2).cumsum(-1)
    return (
        integral[..., p:, p:]
        - integral[..., :-p, p:]
        - integral[..., p:, :-p]
        + integral[..., :-p, :-p]
    )


def gather_windows(image: Tensor, y0: Tensor, x0: Tensor, height: int, width: int) -> Tensor:
    """The ``height x width`` windows of ``image`` (..., H, W), any strides (a view of a padded
    image is not copied), whose top-left corners are (``y0``, ``x0``) (any shape, flattened):
    (..., n, height, width), contiguous, in one gather."""
    sy, sx = image.stride(-2), image.stride(-1)
    offsets = torch.arange(height, device=image.device)[:, None] * sy
    offsets = (offsets + torch.arange(width, device=image.device) * sx).flatten()
    index = ((y0 * sy + x0 * sx).reshape(-1, 1) + offsets).flatten()
    span = (image.shape[-2] - 1) * sy + (image.shape[-1] - 1) * sx + 1
    flat = image.as_strided((*image.shape[:-2], span), (*image.stride()[:-2], 1))
    return flat.index_select(-1, index).view(*image.shape[:-2], -1, height, width)
