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
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

_EPS = 1e-6
#: Smallest side-window norm: a window flatter than this (luma spread under about a tenth of a
#: grey level over the block) has no defined correlation and must not win on rounding noise.
_FLAT = 1e-3
#: Full-resolution pixels either side of the half-resolution match that ``coarse`` refines.
REFINE = 1
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


@dataclass(frozen=True)
class _Warm:
    """One grid's previous search: its positions (rows, cols, 2) and correlations (rows, cols),
    the radius searched around them, and the fall in correlation that counts as a miss."""

    matches: Tensor
    scores: Tensor
    radius: tuple[int, int]
    drop: float


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
    radius: tuple[int, int] = (2, 8),
    drop: float = 0.05,
) -> Found:
    """:func:`find_with_confidence` with every block's match. Given ``previous`` (found in an
    image of the same sizes with the same config: a warm start), each block is searched only
    within ``radius`` (rows, columns) of its previous match (a rectified or fixed rig's matches
    keep their row; their columns follow the depth), and searched in full where that misses:
    where the best candidate lies on the window's edge (the match moved further), or where its
    correlation fell more than ``drop`` below the previous one's (the content changed)."""
    grids = ((0, 0),)
    if config.overlap:
        half = config.patch // 2
        grids = ((0, 0), (0, half), (half, 0), (half, half))
    if previous is not None and len(previous.matches) != len(grids):
        raise ValueError(f"previous: {len(grids)} grids of matches, not {len(previous.matches)}")
    found = []
    for i, (dy, dx) in enumerate(grids):
        warm = None
        if previous is not None:
            warm = _Warm(*previous.searched[i], radius, drop)
        found.append(_find_offset(x_dec, side, config, dy, dx, warm))
    y_syn, confidence, matches, scores, searched, full = zip(*found, strict=True)
    if len(grids) > 1:
        y_syn, confidence = (torch.stack(y_syn).mean(0),), (torch.stack(confidence).mean(0),)
    return Found(y_syn[0], confidence[0], matches, scores, searched, sum(full))


Grid = tuple[Tensor, Tensor, Tensor, Tensor, tuple[Tensor, Tensor], int]
"""One block grid's Y_syn, confidence, matches, their scores, the positions and scores of the
search a warm start replaces, and how many blocks were searched in full."""


def _find_offset(
    x_dec: Tensor, side: Tensor, config: SIFinderConfig, dy: int, dx: int, warm: _Warm | None
) -> Grid:
    """Y_syn on the block grid shifted by (dy, dx): both views padded at the top left.

    Padding the side view too keeps every epipolar row where it was relative to the blocks;
    the Gaussian centres move by (dy, dx), negligible against sigma (half the image).
    """
    if dy == 0 and dx == 0:
        return _find_on_grid(x_dec, side, config, warm)
    pad = (dx, 0, dy, 0)
    x_pad = F.pad(x_dec[None], pad, mode="replicate")[0]
    side_pad = F.pad(side[None], pad, mode="replicate")[0]
    y_syn, confidence, *rest = _find_on_grid(x_pad, side_pad, config, warm)
    return (y_syn[:, dy:, dx:], confidence[:, dy:, dx:], *rest)


def _find_on_grid(x_dec: Tensor, side: Tensor, config: SIFinderConfig, warm: _Warm | None) -> Grid:
    """Y_syn from the non-overlapping block grid anchored at the top-left corner (the paper)."""
    p = config.patch
    height, width = x_dec.shape[-2:]
    # The side view is padded like X_dec, so a block that runs past X_dec's bottom or right
    # edge (into replicated rows) can still find its match in a view of the same size.
    side = _pad_to_multiple(side, p)
    x_pad = _pad_to_multiple(x_dec, p)
    blocks = _normalised_blocks(luma(x_pad), p)  # (rows, cols, p*p)
    side_luma, size = luma(side)[0], (height, width)
    # The refinement needs (2 REFINE + 1)² window positions; a side view one block tall or
    # wide has a single row or column of them, and the full search costs nothing there.
    if config.coarse and min(side.shape[-2:]) >= p + 2 * REFINE:
        best, scores, searched, full = _coarse_to_fine(blocks, x_pad, side_luma, config, size, warm)
    else:
        best, scores, full = _search(blocks, side_luma, config, size, warm)
        searched = (best, scores)
    y_syn = _assemble(side, best, p)
    if config.align_mean:
        y_syn = _align_block_means(y_syn, x_pad, p)
    confidence = F.interpolate(scores[None, None], scale_factor=p, mode="nearest")[0]
    return y_syn[:, :height, :width], confidence[:, :height, :width], best, scores, searched, full


def _search(
    blocks: Tensor, side_luma: Tensor, config: SIFinderConfig, size: tuple[int, int], warm
) -> tuple[Tensor, Tensor, int]:
    """Each block's best position and correlation: the whole search, or with ``warm`` the
    window around its previous match, then the whole search for the blocks the window missed;
    and how many blocks were searched in full."""
    if warm is None:
        return *_best_positions(blocks, side_luma, config, size), blocks.shape[0] * blocks.shape[1]
    norm = _window_norm(side_luma, config.patch)  # for both searches
    window = (warm.matches, config, size, warm.radius, True, norm)
    best, scores, edge = _candidates(blocks, side_luma, *window)
    missed = edge | (scores < warm.scores - warm.drop)
    if not bool(missed.any()):
        return best, scores, 0
    again, again_scores = _best_positions(blocks, side_luma, config, size, missed, norm)
    best = torch.where(missed[..., None], again, best)
    return best, torch.where(missed, again_scores, scores), int(missed.sum())


def _best_positions(
    blocks: Tensor,
    side_luma: Tensor,
    config: SIFinderConfig,
    size: tuple[int, int],
    only: Tensor | None = None,
    side_norm: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Best (y, x) side-image position of every block (rows, cols, 2), and its correlation;
    ``only`` (rows, cols): search just those blocks (the others' entries are zero);
    ``side_norm``: :func:`_window_norm` of the side view, when the caller has it.

    One convolution per block row: its blocks as the kernels over the row's epipolar band of
    the side view. That is the fastest form measured on a CPU (oneDNN runs a one-channel,
    many-kernel convolution at about 150 GMAC/s on this project's 2 cores; the same work as one
    grouped or depthwise call over all rows ran 2.5 to 7 times slower), so the loop holds only
    that call; the mask, the normalisation and the argmax are whole-row tensor work.
    """
    p = config.patch
    rows, cols = blocks.shape[:2]
    if side_norm is None:
        side_norm = _window_norm(side_luma, p)  # (H'-p+1, W'-p+1)
    max_y = side_norm.shape[0] - 1
    gx, allowed = _column_prior(cols, side_norm.shape[1], p, config, size, blocks.device)
    best = torch.zeros(rows, cols, 2, dtype=torch.long, device=blocks.device)
    scores = torch.zeros(rows, cols, device=blocks.device)
    sigma_y = config.sigma_scale * size[0]
    inverse_norm = 1.0 / side_norm
    positions = side_norm.shape[1]
    for row in range(rows):
        pick = slice(None) if only is None else only[row].nonzero()[:, 0]
        if only is not None and len(pick) == 0:
            continue
        top = row * p
        lo, hi = 0, max_y
        if config.band is not None:
            lo, hi = max(0, min(top, max_y) - config.band), min(max_y, top + config.band)
        kernels = blocks[row, pick].view(-1, 1, p, p)
        numerator = F.conv2d(side_luma[None, None, lo : hi + p], kernels)[0]
        ys = torch.arange(lo, hi + 1, device=blocks.device, dtype=torch.float32) - top
        gy = torch.exp(-(ys**2) / (2 * sigma_y**2))
        # score = Pearson * prior = numerator * (gy / norm) * gx: two passes over the big tensor
        score = numerator * (gy[:, None] * inverse_norm[lo : hi + 1])[None]
        score.mul_(gx[pick, None, :])
        if allowed is not None:
            score.masked_fill_(~allowed[pick, None, :], float("-inf"))
        flat = score.flatten(1).argmax(dim=1)
        y, x = flat // positions, flat % positions
        pearson = numerator.flatten(1).gather(1, flat[:, None])[:, 0] * inverse_norm[y + lo, x]
        scores[row, pick] = pearson.clamp(-1.0, 1.0)
        best[row, pick] = torch.stack([y + lo, x], dim=1)
    return best, scores


def _coarse_to_fine(
    blocks: Tensor,
    x_pad: Tensor,
    side_luma: Tensor,
    config: SIFinderConfig,
    size: tuple[int, int],
    warm: _Warm | None = None,
) -> tuple[Tensor, Tensor, Tensor, int]:
    """The search on both views at half resolution (a sixteenth of the work), then each
    block's best position refined among the full-resolution positions around it; with
    ``warm`` (the previous half-resolution search), that search runs in windows half its
    radius wide (:func:`_search`). Also the half-resolution positions and correlations, and
    how many blocks were searched in full."""
    half = config.patch // 2
    small = dataclasses.replace(
        config,
        patch=half,
        band=None if config.band is None else config.band // 2,
        disparity=None if config.disparity is None else tuple(d // 2 for d in config.disparity),
    )
    x_small = F.avg_pool2d(luma(x_pad)[None], 2)[0]
    side_small = F.avg_pool2d(side_luma[None, None], 2)[0, 0]
    small_blocks, small_size = _normalised_blocks(x_small, half), (size[0] // 2, size[1] // 2)
    if warm is not None:
        warm = dataclasses.replace(warm, radius=tuple(max(1, r // 2) for r in warm.radius))
    coarse, searched, full = _search(small_blocks, side_small, small, small_size, warm)
    return *_refine(blocks, side_luma, coarse * 2, config, size), (coarse, searched), full


def _refine(
    blocks: Tensor, side_luma: Tensor, guess: Tensor, config: SIFinderConfig, size: tuple[int, int]
) -> tuple[Tensor, Tensor]:
    """Best of the (2 :data:`REFINE` + 1)² positions around each block's ``guess`` (rows, cols,
    2), kept inside the side view, scored as the full search scores them (Pearson correlation
    times the Gaussian prior; the disparity window already held for the guess, the pixels
    around it are not checked again)."""
    radius = (REFINE, REFINE)
    return _candidates(blocks, side_luma, guess, config, size, radius, False)[:2]


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
    :func:`_window_norm` of the side view, when the caller has it. Also whether the best lies
    on the window's edge away from the side view's border (the match may have moved further).
    """
    p = config.patch
    rows, cols = blocks.shape[:2]
    norm = _window_norm(side_luma, p) if norm is None else norm
    if bounded:
        guess = _into_window(guess, norm.shape[0] - 1, config)
    ny, nx = (min(2 * r + 1, n) for r, n in zip(radius, norm.shape, strict=True))
    y0 = (guess[..., 0] - radius[0]).clamp(0, norm.shape[0] - ny)  # (rows, cols): first one
    x0 = (guess[..., 1] - radius[1]).clamp(0, norm.shape[1] - nx)
    span_y = torch.arange(p + ny - 1, device=blocks.device)
    span_x = torch.arange(p + nx - 1, device=blocks.device)
    # one region per block holds all its candidate windows (as views)
    regions = side_luma[
        (y0[..., None] + span_y)[..., :, None], (x0[..., None] + span_x)[..., None, :]
    ]
    windows = regions.unfold(2, p, 1).unfold(3, p, 1)  # (rows, cols, ny, nx, p, p)
    # blocks are zero-mean, so their dot product with a window is the Pearson numerator
    numerator = torch.einsum("rcyxij,rcij->rcyx", windows, blocks.view(rows, cols, p, p))
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


def _normalised_blocks(image: Tensor, p: int) -> Tensor:
    """(1, H, W) to (rows, cols, p*p) zero-mean, unit-norm blocks (Pearson numerators)."""
    blocks = image.unfold(1, p, p).unfold(2, p, p)[0].reshape(image.shape[1] // p, -1, p * p)
    blocks = blocks - blocks.mean(dim=-1, keepdim=True)
    return blocks / (blocks.norm(dim=-1, keepdim=True) + _EPS)


def _window_norm(image: Tensor, p: int) -> Tensor:
    """Norm of the zero-mean ``p x p`` window at every position of (H, W): the Pearson
    denominator, from integral images in float64 (float32 sums of squares lose the small
    variances to cancellation), at least :data:`_FLAT`."""
    total = _box_sums(image.double(), p)
    squares = _box_sums(image.double() ** 2, p)
    variance = (squares - total**2 / (p * p)).clamp_min(0.0)
    return torch.sqrt(variance).clamp_min(_FLAT).to(image.dtype)


def _box_sums(image: Tensor, p: int) -> Tensor:
    """Sum of every ``p x p`` window of (H, W): (H - p + 1, W - p + 1)."""
    padded = F.pad(image, (1, 0, 1, 0))
    integral = padded.cumsum(0).cumsum(1)
    return integral[p:, p:] - integral[:-p, p:] - integral[p:, :-p] + integral[:-p, :-p]


def _assemble(side: Tensor, best: Tensor, p: int) -> Tensor:
    """Copy the side block at ``best[r, c]`` into block (r, c) of the output."""
    rows, cols = best.shape[:2]
    offsets = torch.arange(p, device=side.device)
    ys = (best[..., 0, None] + offsets).view(rows, cols, p, 1)
    xs = (best[..., 1, None] + offsets).view(rows, cols, 1, p)
    patches = side[:, ys, xs]  # (3, rows, cols, p, p)
    return patches.permute(0, 1, 3, 2, 4).reshape(side.shape[0], rows * p, cols * p)


def _align_block_means(y_syn: Tensor, x: Tensor, p: int) -> Tensor:
    """Add to each ``p x p`` block of ``y_syn`` the difference of the block means (per channel)."""
    shift = F.avg_pool2d(x[None], p) - F.avg_pool2d(y_syn[None], p)
    return y_syn + F.interpolate(shift, scale_factor=p, mode="nearest")[0]


def _pad_to_multiple(image: Tensor, p: int) -> Tensor:
    pad_h, pad_w = -image.shape[-2] % p, -image.shape[-1] % p
    if pad_h == 0 and pad_w == 0:
        return image
    return F.pad(image[None], (0, pad_w, 0, pad_h), mode="replicate")[0]
