"""A built-in moving stereo scene: the demo's default source, and a source with known disparity.

Shared by the camera nodes (``type = "synthetic"``, :mod:`camera_nodes.sources.scene`), the
demo's report (which re-renders the originals) and the benchmarks, so it lives here at the
bottom of the stack rather than in ``camera_nodes``.

The scene is an outdoor view seen by a rectified stereo pair (baseline :data:`BASELINE_M`,
focal length ``0.9 * width`` pixels, optical axes parallel): sky with clouds at infinity, two
ridges of hills, a textured ground plane with a dirt path, and several textured objects (trees,
rocks, a bouncing ball, a rolling crate, a sign) at different depths, some moving. Every layer
is a continuous procedural texture in world coordinates, rendered from each eye's position, so a
point at depth ``Z`` appears ``d = f * B / Z`` pixels further left in the right view than in the
left one (sub-pixel exact); nearer layers are painted over farther ones (occlusion by depth).

Rendering is deterministic given ``(index, width, height, seed)``: both camera nodes of a rig run
the same scene with the same seed and each renders its own view, and the demo re-renders the
originals to compute PSNR. Time is ``index / NOMINAL_FPS`` seconds whatever the capture rate.
"""

from pipeline.scene.geometry import (
    BASELINE_M,
    NOMINAL_FPS,
    SceneObject,
    StereoCamera,
    object_center_px,
    scene_objects,
)
from pipeline.scene.render import render_disparity, render_stereo_frame, render_view

__all__ = [
    "BASELINE_M",
    "NOMINAL_FPS",
    "SceneObject",
    "StereoCamera",
    "object_center_px",
    "render_disparity",
    "render_stereo_frame",
    "render_view",
    "scene_objects",
]
