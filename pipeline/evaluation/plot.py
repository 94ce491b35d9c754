"""Rate-distortion plots with matplotlib: PSNR and MS-SSIM over bits per pixel.

Two panels side by side, one line per codec with a marker per quality; a side-information row
(``*_si``) is drawn dashed in its plain codec's colour, so each pair reads at a glance. The
legend gives each codec's BD-rate on PSNR against JPEG, and each ``*_si`` row's against its
own codec. The title wraps instead of running off the figure.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt

from pipeline.evaluation.summary import ANCHOR, ms_ssim_db

COLOURS: dict[str, str] = {
    "jpeg": "#595959",
    "webp": "#2ca02c",
    "jpeg2000": "#9467bd",
    "avif": "#ff7f0e",
    "ours": "#1f77b4",
    "h264": "#d62728",
    "hevc": "#8c564b",
    "av1": "#17becf",
}
PANELS = (("psnr", "PSNR (dB)"), ("ms_ssim", "MS-SSIM (dB, -10 log10(1 - MS-SSIM))"))


def plot_rd(
    codec_curves: dict[str, list[dict]],
    path: Path,
    title: str = "",
    bd_rate: dict[str, dict[str, float | None]] | None = None,
    anchors: tuple[str, ...] = (ANCHOR,),
    log_rate: bool = False,
) -> None:
    """Write a PNG of every codec's PSNR and MS-SSIM curves; ``bd_rate`` (``{anchor: {test:
    percent}}``, as ``rd.json`` holds it) labels the legend with each codec's BD-rate against
    ``anchors``; ``log_rate``: bits per pixel on a log scale (video and image codecs together
    span two decades)."""
    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5), constrained_layout=True)
    for axis, (metric, label) in zip(axes, PANELS, strict=True):
        for name, points in codec_curves.items():
            base = name.removesuffix("_si")
            values = [ms_ssim_db(p[metric]) if metric == "ms_ssim" else p[metric] for p in points]
            axis.plot(
                [p["bpp"] for p in points],
                values,
                marker="o",
                markersize=3.5,
                linestyle="--" if name.endswith("_si") else "-",
                color=COLOURS.get(base),
                label=_label(name, bd_rate or {}, anchors),
            )
        if log_rate:
            axis.set_xscale("log")
        axis.set_xlabel("bits per pixel (left view)")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    if title:
        figure.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _label(name: str, bd_rate: dict[str, dict[str, float | None]], anchors: tuple[str, ...]) -> str:
    """``name`` and its BD-rates: against the anchors, and a ``*_si`` row against its own
    codec."""
    parts = []
    for anchor in anchors:
        if name != anchor and bd_rate.get(anchor, {}).get(name) is not None:
            parts.append(f"{bd_rate[anchor][name]:+.1f}% vs {anchor}")
    base = name.removesuffix("_si")
    if name.endswith("_si") and base not in anchors and bd_rate.get(base, {}).get(name) is not None:
        parts.append(f"{bd_rate[base][name]:+.1f}% vs {base}")
    return f"{name} ({', '.join(parts)})" if parts else name
