"""A trained multi-cell policy: every cell's SB3 model plus metadata, saved and loaded as one.

Directory layout (``save_policy``; ``load_policy`` accepts the run directory or this folder)::

    <run_dir>/policy/meta.json      # format, scenario (full), algorithm, mode, seeds, action mode,
                                    # obs_dim, cell → model mapping, model files, training summary
    <run_dir>/policy/model_<k>.zip  # SB3 archives (one per model: 1 centralised, C otherwise)

:class:`MultiCellPolicy` implements the evaluation ``Policy`` protocol of ``bridge.evaluate``:
``act(obs)`` with ``obs [C, F]`` or ``[B, C, F]`` returns the raw actions ``SlicingCore.step`` takes
(``[.., C, S]`` raw outputs, or ``[.., C]`` move indices); the mapping to shares is
``bridge.actions``'s, the same one training used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from slicebridge.agents.algorithms import algorithm_class
from slicebridge.bridge.observation import ObservationBuilder
from slicebridge.bridge.scenario import Scenario
from stable_baselines3.common.base_class import BaseAlgorithm

POLICY_FORMAT = "slicebridge-policy/1"
POLICY_DIR = "policy"


class MultiCellPolicy:
    def __init__(self, models: Sequence[BaseAlgorithm], cell_model: Sequence[int], meta: dict[str, Any], deterministic: bool = True):
        self.models = list(models)
        self.cell_model = list(cell_model)
        self.meta = dict(meta)
        self.deterministic = deterministic
        self.n_cells = len(self.cell_model)
        self.discrete = meta.get("action_mode") in ("discrete", "absolute")  # an index per cell
        self.name = meta.get("name") or f"{meta.get('algorithm', 'agent')}-{meta.get('mode', '')}".rstrip("-")
        self._groups = [[c for c, m in enumerate(self.cell_model) if m == k] for k in range(len(self.models))]

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray, kpis: np.ndarray | None = None, shares: np.ndarray | None = None) -> np.ndarray:
        """``obs [C, F]`` or ``[B, C, F]`` → raw actions ``[(B,) C, S]`` or move indices ``[(B,) C]``."""
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.ndim == 2
        batch = obs[None] if single else obs
        if batch.shape[1] != self.n_cells:
            raise ValueError(f"policy for {self.n_cells} cells got observations for {batch.shape[1]}")
        n_b = batch.shape[0]
        out: np.ndarray | None = None
        for model, cells in zip(self.models, self._groups):
            if not cells:
                continue
            sub = batch[:, cells].reshape(n_b * len(cells), -1)
            act, _ = model.predict(sub, deterministic=self.deterministic)
            act = np.asarray(act)
            act = act.reshape((n_b, len(cells)) + act.shape[1:])
            if out is None:
                out = np.zeros((n_b, self.n_cells) + act.shape[2:], dtype=act.dtype)
            out[:, cells] = act
        assert out is not None
        return out[0] if single else out


def save_policy(path: str | Path, models: Sequence[BaseAlgorithm], cell_model: Sequence[int], meta: dict[str, Any]) -> Path:
    """Write ``models`` and ``meta.json`` into ``path`` (created); returns ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    files = []
    for k, model in enumerate(models):
        name = f"model_{k}.zip"
        model.save(path / name, exclude=["replay_buffer", "rollout_buffer"])
        files.append(name)
    meta = {**meta, "format": POLICY_FORMAT, "cell_model": list(cell_model), "models": files}
    (path / "meta.json").write_text(json.dumps(meta, indent=1, default=_json_default))
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def load_policy(path: str | Path, scenario: Scenario | None = None, deterministic: bool = True) -> MultiCellPolicy:
    """Load a policy from a run directory (or its ``policy/`` folder).

    With ``scenario``, checks that the policy fits it (cells, observation size, action mode).
    """
    path = Path(path)
    if not (path / "meta.json").is_file() and (path / POLICY_DIR / "meta.json").is_file():
        path = path / POLICY_DIR
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{path}: no policy here (expected meta.json or {POLICY_DIR}/meta.json)")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != POLICY_FORMAT:
        raise ValueError(f"{meta_file}: format {meta.get('format')!r}, expected {POLICY_FORMAT!r}")
    if scenario is not None:
        _check_fits(meta, scenario, meta_file)
    cls = algorithm_class(meta["algorithm"])
    models = [cls.load(path / f, device="cpu") for f in meta["models"]]
    return MultiCellPolicy(models, meta["cell_model"], meta, deterministic)


def _check_fits(meta: dict[str, Any], scenario: Scenario, where: Path) -> None:

    problems = []
    if len(meta["cell_model"]) != scenario.n_cells:
        problems.append(f"{len(meta['cell_model'])} cells, the scenario has {scenario.n_cells}")
    if meta.get("action_mode") != scenario.action.mode:
        problems.append(f"action mode {meta.get('action_mode')!r}, the scenario uses {scenario.action.mode!r}")
    obs_dim = ObservationBuilder(scenario).obs_dim
    if meta.get("obs_dim") != obs_dim:
        problems.append(f"observation size {meta.get('obs_dim')}, the scenario gives {obs_dim}")
    if meta.get("n_slices") != scenario.n_slices:
        problems.append(f"{meta.get('n_slices')} slices, the scenario has {scenario.n_slices}")
    if problems:
        raise ValueError(f"{where}: the policy does not fit scenario {scenario.name!r}: " + "; ".join(problems))
