"""The bottom library stays at the bottom: nothing in ``pipeline/`` imports the nodes above it."""

from __future__ import annotations

import ast
from pathlib import Path

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
