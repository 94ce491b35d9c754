"""Band-limited procedural textures for the synthetic scene: smooth value noise and fbm.

The textures are continuous functions of world coordinates, so a view rendered from another
camera position (a sub-pixel disparity) samples exactly the same surface. Octaves finer than
the pixel footprint are faded out, which keeps far surfaces free of aliasing noise.
"""

from __future__ import annotations

import numpy as np


def _hash(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """A deterministic pseudo-random value in [0, 1) per integer lattice point."""
    with np.errstate(over="ignore"):
        h = np.asarray(ix).astype(np.uint32) * np.uint32(0x8DA6B343)
        h = h ^ (np.asarray(iy).astype(np.uint32) * np.uint32(0xD8163841))
        h = h ^ np.uint32((seed * 0x9E3779B1) & 0xFFFFFFFF)
        h = h ^ (h >> np.uint32(15))
        h = h * np.uint32(0x2C1B3C6D)
        h = h ^ (h >> np.uint32(12))
        h = h * np.uint32(0x297A2D39)
        h = h ^ (h >> np.uint32(15))
    return h.astype(np.float32) / np.float32(2**32)


def value_noise(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1) with one feature per unit of ``u``/``v`` (smoothstep blend)."""
    fu, fv = np.floor(u), np.floor(v)
    iu, iv = fu.astype(np.int64), fv.astype(np.int64)
    tu, tv = u - fu, v - fv
    tu = tu * tu * (3.0 - 2.0 * tu)
    tv = tv * tv * (3.0 - 2.0 * tv)
    a, b = _hash(iu, iv, seed), _hash(iu + 1, iv, seed)
    c, d = _hash(iu, iv + 1, seed), _hash(iu + 1, iv + 1, seed)
    top = a + (b - a) * tu
    bottom = c + (d - c) * tu
    return (top + (bottom - top) * tv).astype(np.float32)


def fbm(
    u: np.ndarray,
    v: np.ndarray,
    seed: int,
    octaves: int = 5,
    footprint: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Fractal sum of value noise in about [0, 1]; ``footprint`` is the pixel size in u units.

    Octave ``k`` has frequency ``2**k``; it fades out where a feature is smaller than about two
    pixels, and its mean (0.5) stands in for it.
    """
    shape = np.broadcast(u, v, footprint).shape
    u, v = np.broadcast_to(u, shape), np.broadcast_to(v, shape)
    foot = np.broadcast_to(np.asarray(footprint, np.float32), shape)
    total = np.zeros(shape, np.float32)
    norm = 0.0
    for k in range(octaves):
        freq, amp = 2.0**k, 0.5**k
        norm += amp
        total += amp * 0.5
        fade = np.clip(1.5 - 2.0 * freq * foot, 0.0, 1.0)
        live = fade > 0.0
        if not live.any():
            continue
        if live.all():
            n = value_noise(u * freq + 17.3 * k, v * freq - 9.1 * k, seed + 101 * k)
            total += amp * fade * (n - 0.5)
        else:
            n = value_noise(u[live] * freq + 17.3 * k, v[live] * freq - 9.1 * k, seed + 101 * k)
            total[live] += amp * fade[live] * (n - 0.5)
    return total / np.float32(norm)


def mix(colours: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Colour ramp: ``colours`` (K, 3) in [0, 1], ``t`` in [0, 1] -> (..., 3) float32."""
    t = np.asarray(t, np.float32)
    stops = np.linspace(0.0, 1.0, len(colours))
    out = np.empty((*t.shape, 3), np.float32)
    for c in range(3):
        out[..., c] = np.interp(t, stops, colours[:, c])
    return out
