# SPDX-License-Identifier: GPL-2.0-only
"""DT-DRL's extensions: the conservative penalty, distillation, the loss along the gradient, the recipe part."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch as th
from slicebridge.agents.dt_drl_extensions import (Transitions, argmax_agreement, cql_penalty, distill, mlp,
                                                  td_loss_along_gradient, train_cql)
from slicebridge.app.recipes.dt_drl import run
from tests.test_dt_drl_loop import tiny_agent

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_cql_penalty_by_hand():
    q = th.tensor([[0.0, 0.0], [2.0, 0.0]])
    # row 0: log(e^0 + e^0) − 0 = log 2; row 1 took action 1: log(e^2 + 1) − 0
    value = cql_penalty(q, th.tensor([0, 1]))
    assert value.item() == pytest.approx((math.log(2) + math.log(math.e ** 2 + 1)) / 2, rel=1e-6)
    # the data's action dominating → penalty near 0; a dominated data action → large penalty (sign)
    assert cql_penalty(th.tensor([[10.0, -10.0]]), th.tensor([0])).item() < 1e-6
    assert cql_penalty(th.tensor([[10.0, -10.0]]), th.tensor([1])).item() > 19.9


def _random_transitions(n: int, f: int, a: int, seed: int = 0) -> Transitions:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, f)).astype(np.float32)
    return Transitions(obs, rng.integers(a, size=n), rng.normal(size=n).astype(np.float32),
                       rng.normal(size=(n, f)).astype(np.float32))


def test_distilled_student_matches_teacher_argmax():
    th.manual_seed(3)
    teacher = mlp(6, 5, (32, 32))
    obs = np.random.default_rng(1).normal(size=(300, 6)).astype(np.float32)
    with th.no_grad():
        teacher[-1].weight.mul_(5.0)  # spread the Q-values so the argmax is not a near-tie everywhere
    untrained = mlp(6, 5, (16, 16))
    student = distill(teacher, obs, hidden=16, steps=1500, seed=0)
    assert argmax_agreement(student, teacher, obs) >= 0.8
    assert argmax_agreement(untrained, teacher, obs) < 0.6


def test_conservative_penalty_favours_the_data_action():
    data = _random_transitions(200, 4, 3)
    data.actions[:] = 1  # the log only ever took action 1
    net = train_cql(data, 3, (16,), alpha=5.0, epochs=20, seed=0)
    q = net(th.as_tensor(data.obs)).detach()
    assert (q.argmax(1) == 1).float().mean() > 0.95


def test_loss_along_gradient_falls_against_it_and_restores_weights():
    data = _random_transitions(100, 4, 3)
    net, target = mlp(4, 3, (16,)), mlp(4, 3, (16,))
    before = [p.detach().clone() for p in net.parameters()]
    ts = np.array([-0.01, 0.0, 0.01])
    loss = td_loss_along_gradient(net, target, data, ts)
    assert loss[0] < loss[1] < loss[2]  # a small step along −g lowers the loss, along +g raises it
    assert all(th.equal(p, q) for p, q in zip(before, net.parameters()))


def test_extensions_part_smoke(tmp_path):
    table = run(out_dir=tmp_path, seeds=1, eval_steps=2, extensions=True, ext_real_steps=6, ext_distill_steps=5,
                ext_offline_epochs=1, ext_twin_extra=4, progress=False, agent=tiny_agent())
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    policies = [r for r in rows if "reward" not in r and "TD loss" not in r]
    assert len([r for r in policies if r.startswith("| student")]) == 4  # 4 and 16 units × with / without twin
    assert len([r for r in policies if r.startswith("| offline")]) == 3
    for row in policies:
        assert math.isfinite(float(row.split("|")[2].split("±")[0]))
    assert (tmp_path / "dt_drl_extensions.md").read_text() == table
    assert (tmp_path / "dt_drl_landscape.png").stat().st_size > 1000
