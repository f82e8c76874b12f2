"""The layering rule: a module imports only from its own layer or below, and never imports another
slicebridge package from inside a function (which would hide a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# folder on disk -> (import name, layer); bottom to top, as in slicebridge/__init__.py
PACKAGES = {
    "bridge": ("slicebridge.bridge", 0),
    "litesim": ("slicebridge.litesim", 1),
    "slicebridge/ns3": ("slicebridge.ns3", 1),
    "slicebridge/envs": ("slicebridge.envs", 2),
    "federation": ("slicebridge.federation", 3),
    "agents": ("slicebridge.agents", 3),
    "slicebridge/app": ("slicebridge.app", 4),
    "slicebridge/distributed": ("slicebridge.distributed", 4),
}


def layer_of(module: str) -> tuple[str, int] | None:
    for name, layer in sorted(PACKAGES.values(), key=lambda p: -len(p[0])):
        if module == name or module.startswith(name + "."):
            return name, layer
    return None


def package_files() -> list[tuple[Path, str, int]]:
    out = []
    for folder, (name, layer) in PACKAGES.items():
        base = ROOT / folder
        files = sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
        out += [(f, name, layer) for f in files if f.exists()]
    return out


def imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "slicebridge":  # `from slicebridge import envs`
            return [f"slicebridge.{a.name}" for a in node.names]
        return [node.module]
    return []


def violations(path: Path, package: str, layer: int) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        for module in imported_modules(node):
            if module.split(".")[0] in {"bridge", "agents", "federation", "litesim"}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {module!r} outside the slicebridge namespace")
            target = layer_of(module)
            if target and target[1] > layer:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: layer {layer} ({package}) imports {module} (layer {target[1]})")
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                for module in imported_modules(node):
                    target = layer_of(module)
                    if target and target[0] != package:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: function {fn.name}() imports {module} (another package) locally")
    return found


def test_every_package_file_is_covered():
    assert len(package_files()) > 30


@pytest.mark.parametrize("path,package,layer", package_files(), ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else None)
def test_no_import_from_a_higher_layer_or_inside_a_function(path, package, layer):
    assert violations(path, package, layer) == []


def test_the_checker_catches_both_kinds(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from slicebridge.app.cli import main\n\ndef f():\n    from slicebridge.envs import make_core\n")
    # a contract-layer file that reaches up, and a local import across packages
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = violations(bad, "slicebridge.bridge", 0)
    finally:
        ROOT = saved
    assert any("imports slicebridge.app.cli" in v for v in found)
    assert any("locally" in v for v in found)
