"""Stable-Baselines3 algorithms for per-cell agents, built from one configuration.

``ppo``, ``sac``, ``td3`` and ``ddpg`` act in continuous mode (raw per-slice outputs in [0, 1], turned
into shares by ``bridge.actions``); ``dqn``, ``ddqn`` and ``dueling_ddqn`` (agents.dqn_family), and
``ppo``, act in discrete mode (share-move indices) and absolute mode (split indices).
Hyper-parameters are SB3's defaults unless overridden by ``algo_kwargs``; ``net_arch`` sets the
hidden layers of every network of the algorithm. Two defaults differ from SB3's:

- PPO in continuous mode uses a squashed Gaussian (``use_sde=True``, ``squash_output=True``,
  ``log_std_init=-1``): with
  SB3's plain Gaussian the sampled raw outputs are clipped to [0, 1], and the policy tends to collapse
  into the corner where every output is clipped to 0 (``bridge.actions`` then splits equally) — on
  tiny.yaml (strict slicing) it stopped at the equal split; squashed, it learns to favour the
  loaded slice.
- TD3 and DDPG get Gaussian action noise σ = 0.1 (SB3 has none by default).

``td3`` is SB3's TD3 with one optional extra argument, ``actor_learning_rate`` (TL-MADRL's actor
5e-4 beside the critic's 1e-3); without it, SB3's single ``learning_rate`` drives both optimisers.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from stable_baselines3 import DDPG, DQN, PPO, SAC
from stable_baselines3 import TD3 as SB3TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import HumanOutputFormat, Logger
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from slicebridge.agents.dqn_family import DoubleDQN, DuelingDoubleDQN

class TD3(SB3TD3):
    """SB3's TD3 whose actor may learn at its own rate: ``actor_learning_rate`` (a constant; None: the
    critic's ``learning_rate``, SB3's behaviour). SB3 resets both optimisers to ``learning_rate`` at every
    update, so the actor's rate is put back right after."""

    def __init__(self, *args: Any, actor_learning_rate: float | None = None, **kwargs: Any):
        self.actor_learning_rate = actor_learning_rate
        super().__init__(*args, **kwargs)

    def _update_learning_rate(self, optimizers: Any) -> None:
        super()._update_learning_rate(optimizers)
        rate = getattr(self, "actor_learning_rate", None)
        if rate is not None:
            for group in self.actor.optimizer.param_groups:
                group["lr"] = float(rate)


ALGORITHMS: dict[str, type[BaseAlgorithm]] = {
    "ppo": PPO, "sac": SAC, "td3": TD3, "ddpg": DDPG, "dqn": DQN, "ddqn": DoubleDQN, "dueling_ddqn": DuelingDoubleDQN,
}
MODES: dict[str, tuple[str, ...]] = {
    "ppo": ("continuous", "discrete", "absolute"),
    "sac": ("continuous",),
    "td3": ("continuous",),
    "ddpg": ("continuous",),
    "dqn": ("discrete", "absolute"),
    "ddqn": ("discrete", "absolute"),
    "dueling_ddqn": ("discrete", "absolute"),
}


def algorithm_class(name: str) -> type[BaseAlgorithm]:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; allowed: {sorted(ALGORITHMS)}") from None


def check_mode(name: str, action_mode: str) -> None:
    algorithm_class(name)
    if action_mode not in MODES[name]:
        raise ValueError(
            f"algorithm {name!r} does not act in {action_mode!r} mode (scenario action.mode); "
            f"it supports {list(MODES[name])}; choose {[a for a, m in MODES.items() if action_mode in m]}"
        )


def is_off_policy(model: BaseAlgorithm) -> bool:
    return isinstance(model, OffPolicyAlgorithm)


def configure_logging(model: BaseAlgorithm, tensorboard_log: str | None, verbose: int) -> None:
    """Give ``model`` a logger that writes only where asked (call after building or loading it).

    Without a TensorBoard folder, SB3's default logger (set up on every ``learn``) creates an empty
    ``$TMPDIR/SB3-<date>`` folder each time; this one writes to no folder, and to stdout if
    ``verbose``. With a folder, SB3's own logger is kept: it writes the TensorBoard runs there.
    """
    if tensorboard_log is None:
        model.set_logger(Logger(folder=None, output_formats=[HumanOutputFormat(sys.stdout)] if verbose >= 1 else []))


def build_model(
    name: str,
    env: Any,
    seed: int,
    algo_kwargs: dict[str, Any] | None = None,
    net_arch: list[int] | None = None,
    tensorboard_log: str | None = None,
    verbose: int = 0,
) -> BaseAlgorithm:
    """A fresh SB3 model of algorithm ``name`` on ``env`` (a VecEnv), seeded with ``seed``."""
    cls = algorithm_class(name)
    kwargs: dict[str, Any] = dict(algo_kwargs or {})
    policy_kwargs = dict(kwargs.pop("policy_kwargs", {}) or {})
    if net_arch is not None:
        policy_kwargs["net_arch"] = list(net_arch)
    continuous = hasattr(env.action_space, "shape") and len(env.action_space.shape) > 0
    if name == "ppo" and continuous and "use_sde" not in kwargs:
        kwargs["use_sde"] = True
        policy_kwargs.setdefault("squash_output", True)
        policy_kwargs.setdefault("log_std_init", -1.0)
    if name in ("td3", "ddpg") and "action_noise" not in kwargs:
        n = int(np.prod(env.action_space.shape))
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), np.full(n, 0.1))
    if isinstance(kwargs.get("action_noise"), (int, float)):
        n = int(np.prod(env.action_space.shape))
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), np.full(n, float(kwargs["action_noise"])))
    model = cls(
        "MlpPolicy",
        env,
        seed=seed,
        device="cpu",
        verbose=verbose,
        tensorboard_log=tensorboard_log,
        policy_kwargs=policy_kwargs or None,
        **kwargs,
    )
    configure_logging(model, tensorboard_log, verbose)
    return model
