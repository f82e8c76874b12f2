"""The installed distribution has one import name, ``slicebridge`` (plus its console script): the layer
folders are mapped under it, so nothing named ``bridge``/``agents``/``federation`` lands in site-packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "bridge", "litesim", "agents", "federation", "slicebridge", "scenarios"]


def build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.exists():
            shutil.copy2(path, src / name)
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = out.glob("slicebridge-*.whl")
    return wheel


def test_wheel_installs_only_the_slicebridge_namespace(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        tops = {n.split("/")[0] for n in names}
        dist_info = next(t for t in tops if t.endswith(".dist-info"))
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert tops - {dist_info} == {"slicebridge"}, sorted(tops)
    for layer in ("bridge", "litesim", "agents", "federation", "envs", "ns3", "app"):
        assert f"slicebridge/{layer}/__init__.py" in names
    assert "slicebridge = slicebridge.app.cli:main" in entry_points
    # the shipped scenarios travel as package data, where bridge.scenario.scenarios_dir() looks
    assert "slicebridge/scenarios/default.yaml" in names
