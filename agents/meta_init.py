# SPDX-License-Identifier: GPL-2.0-only
"""Meta-initialisation for the slicing agents (MFRL's first idea, docs/RESEARCH.md system 3).

Train once over several scenarios (here: load levels) and start a new scenario's training from
the result instead of from scratch (``TrainConfig.init_policy``). As in MFRL this is multi-task
pre-training, not second-order MAML: :func:`meta_initialise` visits the task scenarios in turn,
``cycles`` times, each visit a short :func:`~slicebridge.agents.training.train` run that starts
from the previous visit's networks (optimiser moments restart at each visit).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from slicebridge.agents.training import RunResult, TrainConfig, train
from slicebridge.bridge.scenario import Scenario


def with_load(scenario: Scenario, factor: float) -> Scenario:
    """``scenario`` with every slice's offered load multiplied by ``factor`` (its load-profile scale)."""
    if factor < 0:
        raise ValueError(f"with_load(): the load factor must be >= 0, got {factor}")
    data = scenario.model_dump(mode="json")
    for sl in data["slices"]:
        sl["load_profile"]["scale"] = sl["load_profile"]["scale"] * factor
    data["name"] = f"{scenario.name}-load{factor:g}"
    return Scenario.from_dict(data, source=f"{scenario.name} × load {factor:g}")


def meta_initialise(cfg: TrainConfig, tasks: Sequence[Scenario], cycles: int, run_dir: Path | str,
                    log: Callable[[str], None] = lambda s: None) -> tuple[Path, list[RunResult]]:
    """Round-robin training over ``tasks`` (``cycles`` visits each, ``cfg.total_steps`` transitions
    per cell and visit). Returns the directory of the final policy (for ``init_policy``) and every
    visit's result."""
    if not tasks or cycles < 1:
        raise ValueError("meta_initialise() needs at least one task scenario and one cycle")
    run_dir = Path(run_dir)
    prev: Path | None = Path(cfg.init_policy) if cfg.init_policy is not None else None
    results = []
    for c in range(cycles):
        for j, task in enumerate(tasks):
            visit = run_dir / f"cycle{c}_task{j}"
            res = train(replace(cfg, scenario=task, init_policy=prev, run_dir=visit, resume=False))
            results.append(res)
            prev = visit
            log(f"meta-init cycle {c + 1}/{cycles} task {task.name}: reward {res.summary()['reward']:.3f}")
    assert prev is not None
    return prev, results
