# SPDX-License-Identifier: GPL-2.0-only
"""The hybrid PPO: log-probability and entropy against torch.distributions by hand, independence of
the stacked agents, GAE, and the sign of one clipped update."""

import math

import numpy as np
import pytest
import torch

from slicebridge.agents.hybrid_ppo import HybridActorCritic, HybridPPO, HybridPPOConfig, gae, power_dbm


def _policy(k=2, obs_dim=5, n=4):
    torch.manual_seed(0)
    pol = HybridActorCritic(k, obs_dim, n, trunk=(16, 8), critic_hidden=4)
    with torch.no_grad():  # non-trivial heads: the default init is nearly uniform with std 1
        pol.logits.weight.normal_(0, 1.0)
        pol.power_mean.weight.normal_(0, 1.0)
        pol.power_log_std.copy_(torch.tensor([[[-0.7]], [[0.3]]]))
    return pol


def test_log_prob_and_entropy_by_hand():
    pol = _policy()
    obs = torch.randn(2, 7, 5)
    sub = torch.randint(0, 4, (2, 7))
    u = torch.randn(2, 7)
    with torch.no_grad():
        logp, ent, value = pol.evaluate(obs, sub, u)
        logits, mean, std, value2 = pol.heads(obs)
    for k in range(2):
        for m in range(7):
            z = logits[k, m].double()
            log_softmax = z - torch.logsumexp(z, 0)
            p = log_softmax.exp()
            s, mu, x = float(std[k, m]), float(mean[k, m]), float(u[k, m])
            gauss_logp = -((x - mu) ** 2) / (2 * s * s) - math.log(s) - 0.5 * math.log(2 * math.pi)
            assert float(logp[k, m]) == pytest.approx(float(log_softmax[sub[k, m]]) + gauss_logp, rel=1e-5, abs=1e-5)
            cat_ent = float(-(p * log_softmax).sum())
            gauss_ent = 0.5 + 0.5 * math.log(2 * math.pi) + math.log(s)
            assert float(ent[k, m]) == pytest.approx(cat_ent + gauss_ent, rel=1e-5, abs=1e-5)
    assert torch.equal(value, value2)
    # the per-agent std is the learned one, whatever the state
    assert std[0].unique().tolist() == pytest.approx([math.exp(-0.7)])


def test_stacked_agents_are_independent():
    pol = _policy()
    obs = torch.randn(2, 3, 5)
    before = [t.clone() for t in pol.heads(obs)]
    params = pol.agent_params(1)
    pol.set_agent_params(1, [p * 0 + 0.5 for p in params])
    after = pol.heads(obs)
    for b, a in zip(before, after):
        assert torch.equal(b[0], a[0])  # agent 0 untouched
    assert not torch.equal(before[0][1], after[0][1])
    pol.load_everywhere(pol.agent_params(0))
    same = pol.heads(torch.stack([obs[0], obs[0]]))
    assert torch.allclose(same[0][0], same[0][1])


def test_power_mapping_is_continuous_and_clipped():
    assert power_dbm(np.array([-5.0, -1.0, 0.0, 0.5, 1.0, 9.0]), 0.0, 24.0).tolist() == [0.0, 0.0, 12.0, 18.0, 24.0, 24.0]


def test_gae_by_hand_with_an_episode_end():
    r = np.array([[1.0], [2.0], [3.0]])
    v = np.array([[0.5], [0.2], [0.1]])
    d = np.array([[0.0], [1.0], [0.0]])
    adv, ret = gae(r, v, np.array([0.4]), d, gamma=0.9, lam=0.5)
    d2 = 3.0 + 0.9 * 0.4 - 0.1
    d1 = 2.0 - 0.2  # episode ends after step 1: no bootstrap, no carry
    d0 = 1.0 + 0.9 * 0.2 - 0.5
    assert adv[:, 0] == pytest.approx([d0 + 0.45 * d1, d1, d2])
    assert ret == pytest.approx(adv + v)


def test_one_update_raises_the_probability_of_a_rewarded_action():
    cfg = HybridPPOConfig(trunk=(16,), critic_hidden=8, rollout_steps=16, batch_size=64, n_epochs=4, learning_rate=3e-3, reward_scale=1.0)
    ppo = HybridPPO(2, 3, 4, (0.0, 24.0), cfg, seed=1)
    obs0 = np.ones((2, 4, 3), np.float32)

    def step(sub, power):  # a bandit: subchannel 2 and high power pay
        reward = (sub == 2).astype(np.float32) + (power > 12.0)
        return obs0, reward, np.zeros_like(reward, dtype=bool), None

    o = torch.as_tensor(obs0)
    cat0, gauss0, _ = ppo.policy.distributions(o)
    for _ in range(5):
        batch, _ = ppo.collect(obs0, step)
        ppo.update(batch)
    cat1, gauss1, _ = ppo.policy.distributions(o)
    assert (cat1.probs[..., 2] > cat0.probs[..., 2] + 0.1).all()
    assert (gauss1.mean > gauss0.mean).all()
