"""The house stays straight: imports run one way between rooms, with no cycles.

Every ``import`` in the package is read from the source (lazy ones inside functions
included, since a lazy import that hides a cycle is still a cycle) and checked against
the order of rooms below: a room may import only itself and rooms listed before it.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Set

import translate

PACKAGE = Path(translate.__file__).parent

# Lowest first. Data flows CLI -> config -> data -> translator -> loop -> checkpoint -> apply;
# imports run the other way: commands -> pipelines -> apply/train -> translators -> nets/losses/data
# -> checkpoint format.
ROOMS = [
    "version", "errors", "choices", "registry", "builder_options", "fileio", "devices", "pixels",
    "config", "model_files", "checkpoint", "run_history",
    "nets", "losses", "data", "video", "people",
    "interop", "translators",
    "apply", "eval", "training",
    "pipelines", "api", "serve", "commands", "cli", "__main__",
]
RANK = {room: i for i, room in enumerate(ROOMS)}


def _modules() -> Dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, modules: Dict[str, Path]) -> str:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def import_graph() -> Dict[str, Set[str]]:
    """module -> the package modules it imports anywhere in its source."""
    modules = _modules()
    graph: Dict[str, Set[str]] = defaultdict(set)
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                if target.split(".")[0] == "translate":
                    resolved = _resolve(target, modules)
                    if resolved and resolved != module and resolved != "translate":
                        graph[module].add(resolved)
    return graph


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_room_has_a_place_in_the_order():
    rooms = {room(m) for m in _modules()} - {"__init__"}
    assert rooms <= set(ROOMS), f"rooms without a place in ROOMS: {sorted(rooms - set(ROOMS))}"


def test_imports_run_one_way():
    against = []
    for module, targets in import_graph().items():
        if room(module) == "__init__":
            continue  # the package root is the public facade, above every room
        for target in targets:
            if room(target) == "__init__":
                against.append(f"{module} imports the package root (import from the room instead)")
            elif RANK[room(target)] > RANK[room(module)]:
                against.append(f"{module} -> {target}")
    assert not against, "imports against the direction of the house:\n" + "\n".join(sorted(against))


def test_no_import_cycles_between_modules():
    graph = import_graph()
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack, on_stack, cycles = [], set(), []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """The walker must catch imports hidden in functions; prove it on the real graph."""
    graph = import_graph()
    # translate.interop.loading imports the reference reader inside its function.
    assert "translate.interop.reference" in graph["translate.interop.loading"]


def _imported_modules(code: str) -> Set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_cli_help_starts_without_torch():
    loaded = _imported_modules("import sys\nsys.argv=['translate', '--help']\nfrom translate.cli import build_parser\n"
                               "build_parser(['--help'])")
    assert "torch" not in loaded


def test_registries_fill_themselves():
    loaded = _imported_modules("from translate.registry import TRANSLATORS\nassert 'pix2pix' in TRANSLATORS.names()")
    assert "translate.translators.pix2pix" in loaded


def test_a_lookup_by_name_imports_only_that_translator():
    loaded = _imported_modules("from translate.registry import TRANSLATORS\nTRANSLATORS.get('pix2pix')")
    assert "translate.translators.pix2pix" in loaded
    assert not any(m.startswith("translate.people") for m in loaded)
