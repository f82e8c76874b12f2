# SPDX-License-Identifier: GPL-2.0-only
"""Meta-initialisation for the slicing agents: load scaling, init_policy copies the networks, the
round-robin pre-training chains its visits."""

import numpy as np
import pytest
import torch

from slicebridge.agents.meta_init import meta_initialise, with_load
from slicebridge.agents.policy import load_policy
from slicebridge.agents.training import TrainConfig, _Trainer, train
from slicebridge.bridge.scenario import Scenario

torch.set_num_threads(1)


def _cfg(tmp_path, name, **kw):
    return TrainConfig(scenario=Scenario.from_yaml("scenarios/tiny.yaml"), algorithm="ppo", mode="centralised", total_steps=50,
                       num_envs=2, local_steps=25, seed=3, run_dir=tmp_path / name, progress=False, tensorboard=False, **kw)


def test_with_load_scales_every_slice():
    sc = Scenario.from_yaml("scenarios/tiny.yaml")
    assert [s.load_profile.scale for s in with_load(sc, 2.5).slices] == [2.5 * s.load_profile.scale for s in sc.slices]
    with pytest.raises(ValueError, match="load factor"):
        with_load(sc, -1.0)


def test_init_policy_copies_the_networks_into_every_model(tmp_path):
    train(_cfg(tmp_path, "src"))
    src = load_policy(tmp_path / "src").models[0].policy.state_dict()
    trainer = _Trainer(_cfg(tmp_path, "dst", init_policy=tmp_path / "src"))
    trainer.setup()
    try:
        for model in trainer.models:
            got = model.policy.state_dict()
            assert all(torch.equal(got[k], src[k]) for k in src)
    finally:
        trainer.core.close()
    fresh = _Trainer(_cfg(tmp_path, "fresh"))
    fresh.setup()
    try:
        assert not all(torch.equal(fresh.models[0].policy.state_dict()[k], src[k]) for k in src)
    finally:
        fresh.core.close()
    with pytest.raises(ValueError, match="trained with 'ppo'"):
        _Trainer(TrainConfig(**{**_cfg(tmp_path, "bad").__dict__, "algorithm": "sac", "init_policy": tmp_path / "src"})).setup()


def test_meta_initialise_chains_its_visits(tmp_path):
    sc = Scenario.from_yaml("scenarios/tiny.yaml")
    final, results = meta_initialise(_cfg(tmp_path, "meta"), [with_load(sc, 0.5), with_load(sc, 2.0)], cycles=1, run_dir=tmp_path / "meta")
    assert len(results) == 2 and final == tmp_path / "meta" / "cycle0_task1"
    assert np.isfinite(results[-1].summary()["reward"])
    assert (final / "policy" / "meta.json").is_file()
