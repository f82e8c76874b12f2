"""Round checkpoints: one directory per round, written atomically, the newest named in ``LATEST``.

Layout::

    <root>/round_00007/state.pkl      # everything the caller's state dict holds (pickled)
    <root>/round_00007/<extra files>  # e.g. per-client SB3 model archives, replay buffers
    <root>/LATEST                     # "round_00007"

A round directory is built under a temporary name and renamed into place, then ``LATEST`` is
replaced atomically, so an interruption at any moment leaves the previous complete checkpoint.
Only the ``keep`` newest rounds are kept. :func:`load_latest` reads the newest checkpoint that
loads: one whose state does not unpickle (a truncated or corrupted file) is skipped, with a warning,
for the previous kept round.
"""

from __future__ import annotations

import logging
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

log = logging.getLogger("slicebridge.federation")


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


def load_latest(root: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """``(round directory, state)`` of the newest checkpoint under ``root`` that loads, or None.

    Tried in order: the round named in ``LATEST``, then every kept round directory, newest first.
    A checkpoint whose state does not load is skipped with a warning that names it and the error.
    """
    root = Path(root)
    candidates = [p for p in [latest_checkpoint(root)] if p is not None]
    for p in sorted(root.glob("round_*"), reverse=True):
        if p.is_dir() and not p.name.endswith(".tmp") and (p / STATE_FILE).is_file() and p not in candidates:
            candidates.append(p)
    for path in candidates:
        try:
            return path, load_state(path)
        except Exception as exc:  # noqa: BLE001 - a damaged pickle raises almost any type (EOFError, UnpicklingError, ValueError, ...)
            log.warning("checkpoint %s does not load (%s: %s); trying the previous one", path, type(exc).__name__, exc)
    if candidates:
        log.warning("no checkpoint under %s loads; starting from scratch", root)
    return None
