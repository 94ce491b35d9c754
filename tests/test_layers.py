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


# pipeline/codec: subpackages along the data path, ranked bottom to top; a module imports only
# modules of its own rank or lower (docs/architecture.md lists them).
CODEC_SUBPACKAGES = ("bitstream", "entropy", "model", "decode", "video")
CODEC_RANKS = (
    ("api", "bitstream"),
    ("entropy", "weights", "standard", "video", "inputs"),
    ("model",),
    ("encode", "decode.latents", "decode.pixels", "decode.model_set", "decode.device"),
    ("family",),
    ("decode",),
    ("cli", ""),
)


def _modules() -> dict[str, Path]:
    """Every module of ``pipeline/`` by dotted name (a package by its ``__init__.py``)."""
    root = Path(pipeline.__file__).parent
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _runtime_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The ``pipeline`` modules ``path`` imports when run (anywhere in the file, in functions
    too), leaving out the imports under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(), str(path))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            subs = {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
            # `from package import submodule` is an import of the submodule
            names |= subs if len(subs) == len(node.names) else {node.module} | subs
    return {name for name in names if name in modules}


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _runtime_imports(path, modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (a path that returns to its start), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[name] = 2
        path.pop()
        return []

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return []


def _codec_rank(module: str) -> int | None:
    """The rank of a ``pipeline.codec`` module: its longest listed prefix's."""
    if module != "pipeline.codec" and not module.startswith("pipeline.codec."):
        return None
    inner = module.removeprefix("pipeline.codec").removeprefix(".")
    best = None
    for rank, prefixes in enumerate(CODEC_RANKS):
        for prefix in prefixes:
            matches = inner == prefix or inner.startswith(f"{prefix}.")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank)
    assert best is not None, f"{module} has no rank in CODEC_RANKS"
    return best[1]


def test_pipeline_has_no_import_cycle():
    graph = _import_graph()
    assert "pipeline.codec.family" in graph and graph["pipeline.codec.decode.read"]
    cycle = _cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_codec_modules_import_nothing_above_their_rank():
    graph = _import_graph()
    upward = [
        f"{name} (rank {_codec_rank(name)}) imports {target} (rank {_codec_rank(target)})"
        for name, targets in sorted(graph.items())
        if _codec_rank(name) is not None
        for target in sorted(targets)
        if _codec_rank(target) is not None and _codec_rank(target) > _codec_rank(name)
    ]
    assert not upward, "upward imports in pipeline/codec:\n" + "\n".join(upward)


def test_codec_is_the_listed_subpackages():
    root = Path(pipeline.__file__).parent / "codec"
    packages = sorted(p.parent.name for p in root.glob("*/__init__.py"))
    assert packages == sorted(CODEC_SUBPACKAGES)


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
