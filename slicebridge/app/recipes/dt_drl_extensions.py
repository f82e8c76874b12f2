# SPDX-License-Identifier: GPL-2.0-only
"""DT-DRL's extensions (``slicebridge recipe dt_drl --extensions``): distillation, offline RL, loss landscape.

Per seed, two DDQN teachers (256-256-128-128) are trained on litesim as the real system for
``ext_real_steps`` real interactions, without and with the learned twin (Algorithm 1). Then:

1. Distillation: students with two hidden layers of 4 and 16 units regress each teacher's (per-state
   centred) Q-values on the states of the teacher's own real log for ``ext_distill_steps`` Adam steps;
   greedy reward on litesim beside the teacher's, and argmax agreement on the training states.
2. Offline RL: a fresh 256-256-128-128 Q-network trained for ``ext_offline_epochs`` epochs only on
   the no-twin teacher's logged real transitions, with the conservative penalty (α = ``ext_cql_alpha``),
   without it (α = 0), and with ``ext_twin_extra`` twin-generated transitions added; beside the online
   teachers with the same number of real interactions.
3. Loss landscape: each teacher's TD loss on its own real log along its gradient direction,
   ``t ∈ [−ext_landscape_span, +ext_landscape_span]``; plot ``dt_drl_landscape.png``.

Writes ``dt_drl_extensions.md``, ``dt_drl_extensions.json`` and the plot into ``out_dir``.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from slicebridge.agents.dt_drl import DtDrlConfig, greedy_reward, train_dt_drl  # noqa: E402
from slicebridge.agents.dt_drl_extensions import (QPolicy, Transitions, argmax_agreement, distill,  # noqa: E402
                                                  td_loss_along_gradient, train_cql, twin_transitions)
from slicebridge.agents.twin import CellEnv  # noqa: E402
from slicebridge.bridge.scenario import Scenario  # noqa: E402

PAPER_BUDGETS = "10,000 distillation rounds, 200 offline epochs"


def _ms(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def run_extensions(cfg: Any, scenario: Scenario, base: DtDrlConfig, out: Path,
                   log: Callable[[str], None] = print) -> str:
    """``cfg``: a DtDrlRecipeConfig (its ``ext_*`` fields, seeds, eval); returns the Markdown tables."""
    t_start = time.perf_counter()
    eval_env = CellEnv(scenario, "litesim")
    gamma = base.algo_kwargs["gamma"]
    ts = np.linspace(-cfg.ext_landscape_span, cfg.ext_landscape_span, 41)
    rows: dict[str, list[float]] = {}
    agree: dict[str, list[float]] = {}
    curves: dict[str, list[list[float]]] = {"no twin": [], "twin": []}

    def add(key: str, value: float, table: dict[str, list[float]] = rows) -> None:
        table.setdefault(key, []).append(float(value))

    def score(policy: Any) -> float:
        return greedy_reward(policy, eval_env, cfg.eval_steps, base.eval_seed)

    try:
        for k in range(cfg.seeds):
            seed = cfg.seed + k
            teachers: dict[str, dict[str, Any]] = {}
            for label, twin in (("no twin", False), ("twin", True)):
                keep: dict[str, Any] = {}
                train_dt_drl(scenario, replace(base, algorithm="ddqn", twin=twin, seed=seed, real_steps=cfg.ext_real_steps),
                             "litesim", log=log if cfg.progress else (lambda _m: None), keep=keep)
                teachers[label] = keep
                q_net = keep["agent"].q_net
                add(f"teacher ({label})", score(keep["agent"]))
                data = Transitions.from_log(keep["log"])
                for hidden in (4, 16):
                    student = distill(q_net, data.obs, hidden, steps=cfg.ext_distill_steps, seed=seed)
                    add(f"student {hidden}-{hidden} ({label})", score(QPolicy(student)))
                    add(f"student {hidden}-{hidden} ({label})", argmax_agreement(student, q_net, data.obs), agree)
                curves[label].append(td_loss_along_gradient(q_net, keep["agent"].q_net_target, data, ts, gamma).tolist())
            real_log = teachers["no twin"]["log"]
            data = Transitions.from_log(real_log)
            n_actions = eval_env.action_space.n
            extra = twin_transitions(real_log, eval_env.action_features(), eval_env.observation_space,
                                     scenario.control.episode_steps, cfg.ext_twin_extra, seed=seed)
            arms = {f"offline DQN, α = 0 (log only)": (data, 0.0),
                    f"offline CQL, α = {cfg.ext_cql_alpha:g} (log only)": (data, cfg.ext_cql_alpha),
                    f"offline CQL, α = {cfg.ext_cql_alpha:g} (log + {cfg.ext_twin_extra} twin transitions)":
                        (data + extra, cfg.ext_cql_alpha)}
            for label, (d, alpha) in arms.items():
                net = train_cql(d, n_actions, tuple(base.net_arch), alpha=alpha, gamma=gamma, epochs=cfg.ext_offline_epochs,
                                lr=base.algo_kwargs["learning_rate"], seed=seed)
                add(label, score(QPolicy(net)))
            log(f"[dt_drl extensions] seed {seed} done ({time.perf_counter() - t_start:.0f} s)")
    finally:
        eval_env.close()

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for (label, cs), colour in zip(curves.items(), ("C0", "C1")):
        for i, c in enumerate(cs):
            ax.plot(ts, c, color=colour, alpha=0.8, lw=1, label=f"DDQN {label}" if i == 0 else None)
    ax.set_xlabel("t (step along the TD-loss gradient, unit-norm direction)")
    ax.set_ylabel("TD loss (Huber) on the teacher's real log")
    ax.set_yscale("log")
    ax.set_title(f"{scenario.name}: loss along the gradient, {cfg.seeds} seeds", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "dt_drl_landscape.png", dpi=110)
    plt.close(fig)

    mid = len(ts) // 2
    lines = [
        f"DT-DRL extensions on `{scenario.name}`, litesim as the real system; {cfg.seeds} seeds from {cfg.seed}. "
        f"Teachers: DDQN {list(base.net_arch)}, {cfg.ext_real_steps} real interactions, without / with the twin. "
        f"Budgets: {cfg.ext_distill_steps} distillation steps, {cfg.ext_offline_epochs} offline epochs (paper: "
        f"{PAPER_BUDGETS}). Greedy evaluation: {cfg.eval_steps} litesim steps from seed {base.eval_seed}.",
        "",
        "| policy | greedy reward (mean ± sd) | argmax agreement with teacher on its training states |",
        "|---|---:|---:|",
    ]
    for label, values in rows.items():
        lines.append(f"| {label} | {_ms(values)} | {_ms(agree[label]) if label in agree else '—'} |")
    lines += ["", f"| teacher | TD loss at θ | at θ − {cfg.ext_landscape_span:g}·ĝ | at θ + {cfg.ext_landscape_span:g}·ĝ | "
              "minimum along the line |", "|---|---:|---:|---:|---:|"]
    for label, cs in curves.items():
        c = np.array(cs)
        lines.append(f"| DDQN {label} | {_ms(c[:, mid])} | {_ms(c[:, 0])} | {_ms(c[:, -1])} | {_ms(c.min(axis=1))} |")
    lines += ["", f"Extensions wall time: {time.perf_counter() - t_start:.0f} s."]
    table = "\n".join(lines) + "\n"
    (out / "dt_drl_extensions.md").write_text(table)
    (out / "dt_drl_extensions.json").write_text(json.dumps({"rewards": rows, "agreement": agree, "ts": ts.tolist(),
                                                            "landscape": curves}, indent=1))
    return table
