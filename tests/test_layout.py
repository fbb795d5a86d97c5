"""The package's layers, enforced: every import in every module (also those inside functions) points down.

errors/params < client, offline, display, prompting (none imports another) < structured < store <
pipeline < batch < magics, widgets (widgets never imports magics) < the top: the package ``__init__``,
``cli``, the Python API (``python_api``) and the gateway. requests is imported only in ``client/``;
``client/`` never imports IPython; ``offline/`` uses the standard library and ``params`` only; the
gateway never imports IPython, magics or widgets. INTERFACE.md section 12.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dataoorts_magic"
BASE = {"_version", "errors", "params"}
RANK = {
    "base": 0,
    "client": 1,
    "offline": 1,
    "display": 1,
    "prompting": 1,
    "structured": 2,  # reads answers: the fenced-block and JSON finders of display
    "store": 3,
    "pipeline": 4,
    "batch": 5,
    "magics": 6,
    "widgets": 6,
    "gateway": 7,
}
TOP = {"__init__", "cli", "python_api"}  # may import any layer
SUBPACKAGES = set(RANK) - {"base"}


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def dotted(path: Path) -> list[str]:
    """``dataoorts_magic/client/chat_client.py`` -> ``["client", "chat_client"]``."""
    return list(path.relative_to(PACKAGE).with_suffix("").parts)


def layer(parts: list[str]) -> str:
    """The layer of a module inside the package, from its dotted parts (without the package name)."""
    if len(parts) > 1 or parts[0] in SUBPACKAGES:
        return parts[0]
    return "top" if parts[0] in TOP else "base"


def imports(path: Path, parts: list[str]):
    """(line, absolute module name) of every import in the module ``parts`` (at ``path``), relative
    ones resolved; ``from .x import name`` gives the module ``x`` (its layer is what matters)."""
    package = ["dataoorts_magic", *parts[:-1]]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names = [alias.name for alias in node.names]
            if node.level and not node.module:  # from . import x: each name may be a module
                for name in names:
                    yield node.lineno, f"{module}.{name}"
            else:
                yield node.lineno, module


def internal_target(module: str) -> list[str] | None:
    if module != "dataoorts_magic" and not module.startswith("dataoorts_magic."):
        return None
    parts = module.split(".")[1:]
    if not parts:
        return ["__init__"]
    return parts


def wrong_way(source: list[str], target: list[str]) -> str | None:
    """Why importing ``target`` from ``source`` breaks the layering, or None when it is allowed."""
    src, dst = layer(source), layer(target)
    if src == "top" or (src == dst and src != "top"):
        return None
    if dst == "top":
        return f"{'.'.join(target)} is a top module (package __init__, cli, python_api): nothing below imports it"
    if src == "gateway" and dst in ("magics", "widgets"):
        return f"the gateway never imports the {dst} layer (it runs without IPython)"
    if src == "magics" and dst == "widgets":
        return None  # %llama_panel opens the panel
    if src == "base":
        return None if dst == "base" else f"base module imports the {dst} layer"
    if RANK[dst] >= RANK[src]:
        return f"the {src} layer may not import the {dst} layer"
    return None


def third_party_problem(source: list[str], module: str) -> str | None:
    root = module.split(".")[0]
    src = layer(source)
    if root in ("requests", "urllib3") and src != "client":
        return f"{module} is imported only in client/"
    if src in ("client", "gateway") and root in ("IPython", "ipywidgets", "ipykernel"):
        return f"{src}/ never imports {root}"
    if src == "offline" and root != "dataoorts_magic" and root not in sys.stdlib_module_names:
        return f"offline/ uses the standard library only, not {root}"
    return None


def test_every_import_points_down():
    problems = []
    for path in modules():
        source = dotted(path)
        for line, module in imports(path, source):
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
            target = internal_target(module)
            if target is None:
                why = third_party_problem(source, module)
            else:
                why = wrong_way(source, target)
                if why is None and layer(source) == "offline" and layer(target) not in ("offline", "base"):
                    why = "offline/ uses only the standard library and params"
            if why:
                problems.append(f"{where}: {why}")
    assert not problems, "\n".join(problems)


def test_every_module_sits_in_a_known_place():
    for path in modules():
        parts = dotted(path)
        assert layer(parts) in RANK or layer(parts) == "top", parts


@pytest.mark.parametrize(
    "source, target, allowed",
    [
        (["pipeline", "session"], ["client", "chat_client"], True),
        (["client", "chat_client"], ["display", "response"], False),  # same rank, other package
        (["display", "render"], ["store", "log"], False),  # upward
        (["store", "log"], ["pipeline", "session"], False),  # upward
        (["prompting", "interpolate"], ["display", "render"], False),  # same rank
        (["pipeline", "session"], ["structured", "answers"], True),
        (["widgets", "panel"], ["magics", "line_parser"], False),  # the import issue #10 removed
        (["magics", "panel_magic"], ["widgets", "panel"], True),
        (["params"], ["errors"], True),
        (["errors"], ["client", "chat_client"], False),
        (["batch", "over"], ["python_api"], False),
        (["batch", "over"], ["__init__"], False),
        (["gateway", "api"], ["offline", "protocol"], True),
        (["gateway", "core"], ["magics", "llama"], False),
        (["magics", "llama"], ["gateway", "core"], False),
    ],
)
def test_the_checker_itself_tells_right_from_wrong(source, target, allowed):
    assert (wrong_way(source, target) is None) is allowed


def test_the_import_walk_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("def f():\n    from ..magics import llama\n    import requests\n")
    found = {module for _, module in imports(sample, ["widgets", "x"])}
    assert found == {"dataoorts_magic.magics", "requests"}
    assert wrong_way(["widgets", "x"], internal_target("dataoorts_magic.magics")) is not None
