"""Round checkpoints: one directory per round, written atomically, the newest named in ``LATEST``.

Layout::

    <root>/round_00007/state.pkl      # everything the caller's state dict holds (pickled)
    <root>/round_00007/<extra files>  # e.g. per-client SB3 model archives, replay buffers
    <root>/LATEST                     # "round_00007"

A round directory is built under a temporary name and renamed into place, then ``LATEST`` is
replaced atomically, so an interruption at any moment leaves the previous complete checkpoint.
Only the ``keep`` newest rounds are kept.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

STATE_FILE = "state.pkl"
LATEST = "LATEST"


def rng_states() -> dict[str, Any]:
    """The process-wide generators a training run draws from (Python, NumPy legacy, torch)."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def restore_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])


def round_dir_name(server_round: int) -> str:
    return f"round_{server_round:05d}"


def save_checkpoint(
    root: str | Path,
    server_round: int,
    state: dict[str, Any],
    write_extra: Callable[[Path], None] | None = None,
    keep: int = 2,
) -> Path:
    """Write ``state`` (and whatever ``write_extra(dir)`` writes) as the checkpoint of ``server_round``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / round_dir_name(server_round)
    tmp = root / (final.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    with open(tmp / STATE_FILE, "wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
    if write_extra is not None:
        write_extra(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    latest_tmp = root / (LATEST + ".tmp")
    latest_tmp.write_text(final.name)
    os.replace(latest_tmp, root / LATEST)
    rounds = sorted(p for p in root.glob("round_*") if p.is_dir() and not p.name.endswith(".tmp"))
    for old in rounds[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: str | Path) -> Path | None:
    """The newest complete round directory under ``root``, or None."""
    root = Path(root)
    marker = root / LATEST
    if not marker.is_file():
        return None
    path = root / marker.read_text().strip()
    return path if (path / STATE_FILE).is_file() else None


def load_state(path: str | Path) -> dict[str, Any]:
    with open(Path(path) / STATE_FILE, "rb") as fh:
        return pickle.load(fh)
