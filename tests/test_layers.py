"""The layers stay in order: ``pipeline/`` at the bottom imports neither node, the two nodes
import the library and not each other, and only the application (``stereo_app/``) imports them
all."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import pipeline

ABOVE = ("camera_nodes", "decoder_node")


def _imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_pipeline_imports_neither_camera_nodes_nor_decoder_node():
    root = Path(pipeline.__file__).parent
    offending = [
        f"{path.relative_to(root.parent)}: {name}"
        for path in sorted(root.rglob("*.py"))
        for name in _imported_modules(path)
        if name.split(".")[0] in ABOVE
    ]
    assert len(list(root.rglob("*.py"))) > 50
    assert not offending, "pipeline/ imports a layer above it:\n" + "\n".join(offending)


#: Each top-level package and the packages it may import: the library at the bottom, the two
#: nodes on it (never each other), the application (``stereo-pipeline``, the demo) on top.
LAYERS = {
    "pipeline": set(),
    "camera_nodes": {"pipeline"},
    "decoder_node": {"pipeline"},
    "stereo_app": {"pipeline", "camera_nodes", "decoder_node"},
}
REPO = Path(pipeline.__file__).parents[1]
#: A string that names a module (``"camera_nodes.cli"``, as importlib or ``python -m`` take it).
MODULE_NAME = re.compile(rf"({'|'.join(LAYERS)})(\.\w+)+")


def _module_strings(path: Path) -> list[str]:
    """String constants in ``path`` that name a module of one of the four packages."""
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and MODULE_NAME.fullmatch(node.value)
    ]


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_each_package_imports_only_the_layers_below_it(package):
    allowed = LAYERS[package] | {package}
    files = sorted((REPO / package).rglob("*.py"))
    offending = [
        f"{path.relative_to(REPO)}: {name}"
        for path in files
        for name in _imported_modules(path) + _module_strings(path)
        if name.split(".")[0] in LAYERS and name.split(".")[0] not in allowed
    ]
    assert files
    assert not offending, f"{package}/ reaches a layer it may not:\n" + "\n".join(offending)


def test_the_app_imports_the_nodes_it_starts_and_only_when_they_run():
    cli = REPO / "stereo_app" / "cli.py"
    assert {"camera_nodes.cli", "decoder_node.cli"} <= set(_imported_modules(cli))
    top_level = [
        alias.name if isinstance(node, ast.Import) else node.module
        for node in ast.parse(cli.read_text()).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [
        name for name in top_level if name.split(".")[0] in ("camera_nodes", "decoder_node")
    ]
