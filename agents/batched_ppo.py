# SPDX-License-Identifier: GPL-2.0-only
"""Batched PPO: K same-shaped SB3 PPO models trained as one, on one lockstep simulation.

The per-model path (``agents.lockstep``) runs one SB3 ``model.learn()`` per model in its own thread;
every model does its own small forward pass per step and its own small gradient steps, so the cost
is per-call Python overhead times K. Here the K models' weights are stacked on a leading model axis
(``torch.func.stack_module_state``) and every layer is one batched matrix product over the K models
(``torch.baddbmm``): one forward pass per step for all models, one backward pass and one Adam step
per minibatch for all models. Nothing mixes across the model axis, so each model learns what SB3's
PPO would teach it on the same data:

- rollout: SB3's ``ActorCriticPolicy.forward`` (MLP extractor, gSDE / Gaussian / categorical
  distribution, tanh squashing), time-limit bootstrapping and GAE(λ) as ``collect_rollouts`` and
  ``RolloutBuffer`` do them, per model;
- update: SB3's ``PPO.train`` per model (minibatches drawn with ``np.random.permutation`` per model
  and epoch, per-minibatch advantage normalisation, clipped surrogate, value loss, entropy term,
  gradient clipping of each model's global norm, Adam). Adam is elementwise, so one Adam over the
  stacked tensors is K Adams. The summed loss gives model k's weights the gradient of model k's loss.

The SB3 models stay the product: :meth:`BatchedPPO.to_models` writes the stacked weights, Adam
moments, gSDE matrices and counters back into them (round ends, checkpoints, the end of training),
so federation (``agents.params``), checkpoints and saved policies (SB3 zips, evaluated through
``agents.policy``) see the same objects as on the per-model path, and :meth:`from_models` reads the
weights back after the federation server replaced them.

Random draws: the gSDE matrices are drawn per model, in the per-model path's order, from the same
global torch generator, and the minibatch orders from NumPy's global generator as ``RolloutBuffer``
draws them; so with gSDE (the default for continuous actions) a run with the same seeds follows the
per-model path's models up to float rounding (one batched matrix product against K single ones, ~1e-7
per step; ``tests/test_batched_ppo.py``). Categorical and plain Gaussian actions are sampled for all
models in one draw (``[K, N]`` at once); at the tested sizes torch's generator gives the same values
as K draws one after the other (the tests check it), which torch does not promise for every size: where
it does not, the runs are equal in distribution, not draw for draw.

Supported: ``MlpPolicy`` with the flatten extractor, separate or shared MLPs, gSDE (``sde_sample_freq``
-1, ``full_std``, no ``expln``, no learned features), diagonal Gaussian or categorical actions, Adam,
no ``target_kl``. :func:`unsupported_reason` names what is not, and the trainer then uses the
per-model path.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.distributions import (
    CategoricalDistribution,
    DiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.common.utils import explained_variance
from torch.distributions import Normal

from slicebridge.agents.lockstep import LockstepHub
from slicebridge.agents.stacking import (
    ModelAxis,
    adam_like,
    clip_grad_norm_per_model,
    linear,
    mlp,
    networks_differ,
    settings_differ,
    stack_adam_state,
    unstack_adam_state,
)

_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


#: what every model must share to train batched (the engine runs all with the first model's)
PPO_SETTINGS = ("n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range", "clip_range_vf", "ent_coef", "vf_coef",
                "max_grad_norm", "normalize_advantage", "lr_schedule", "sde_sample_freq")


def unsupported_reason(models: Sequence[Any], group_sizes: Sequence[int]) -> str | None:
    """Why these models cannot train batched (``None``: they can)."""
    if not models:
        return "no models"
    if len(set(group_sizes)) != 1:
        return f"the models own different numbers of units {sorted(set(group_sizes))}"
    for m in models:
        if not isinstance(m, PPO):
            return f"{type(m).__name__} is not PPO"
        pol = m.policy
        if not isinstance(pol.features_extractor, FlattenExtractor):
            return f"features extractor {type(pol.features_extractor).__name__} (only the flatten extractor)"
        if not isinstance(pol.optimizer, torch.optim.Adam):
            return f"optimizer {type(pol.optimizer).__name__} (only Adam)"
        if m.target_kl is not None:
            return "target_kl early stopping stops models at different epochs"
        dist = pol.action_dist
        if isinstance(dist, StateDependentNoiseDistribution):
            if m.sde_sample_freq > 0 or dist.use_expln or not dist.full_std or dist.learn_features:
                return "gSDE with sde_sample_freq > 0, expln, full_std=False or learned features"
        elif not isinstance(dist, (DiagGaussianDistribution, CategoricalDistribution)):
            return f"action distribution {type(dist).__name__}"
        if m.device.type != "cpu":
            return f"device {m.device}"
    return networks_differ(models) or settings_differ(models, PPO_SETTINGS)


class StackedActorCritic:
    """K copies of SB3's PPO ``ActorCriticPolicy`` as one: every parameter ``[K, *shape]``.

    Shapes: ``obs [K, N, F]``; continuous actions ``[K, N, A]`` (SB3's raw actions: in [-1, 1] when
    squashed), discrete ``[K, N]``; values and log-probabilities ``[K, N]``.
    """

    def __init__(self, policies: Sequence[Any]):
        p0 = policies[0]
        self.template = p0
        params, _ = torch.func.stack_module_state(list(policies))
        self.names = [n for n, _ in p0.named_parameters()]
        self.p: dict[str, torch.Tensor] = {n: params[n] for n in self.names}  # leaves, requires_grad
        self.dist = p0.action_dist
        self.kind = ("sde" if isinstance(self.dist, StateDependentNoiseDistribution)
                     else "categorical" if isinstance(self.dist, CategoricalDistribution) else "gaussian")
        self.squash = self.kind == "sde" and self.dist.bijector is not None
        self.sde_eps = getattr(self.dist, "epsilon", 1e-6)
        self.shared = p0.share_features_extractor
        self.expl_mat: torch.Tensor | None = None  # [K, H, A] (gSDE, one env)
        self.expl_mats: torch.Tensor | None = None  # [K, N, H, A] (gSDE, one per env)

    @property
    def parameters(self) -> list[torch.Tensor]:
        return [self.p[n] for n in self.names]

    def load(self, policies: Sequence[Any]) -> None:
        """Copy the policies' weights into the stacked tensors (in place: the optimiser keeps them)."""
        with torch.no_grad():
            for n in self.names:
                self.p[n].copy_(torch.stack([dict(pol.named_parameters())[n].detach() for pol in policies]))

    def store(self, policies: Sequence[Any]) -> None:
        """Copy the stacked weights into the policies (in place)."""
        with torch.no_grad():
            for k, pol in enumerate(policies):
                for n, t in pol.named_parameters():
                    t.copy_(self.p[n][k])

    # -- networks ----------------------------------------------------------------------------------
    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """``x [K, N, in]`` through model k's Linear ``name`` → ``[K, N, out]``."""
        return linear(x, self.p[name + ".weight"], self.p[name + ".bias"])

    def _mlp(self, x: torch.Tensor, prefix: str, seq: torch.nn.Sequential) -> torch.Tensor:
        return mlp(x, self.p, prefix, seq)

    def latents(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``obs [K, N, F]`` → (actor latent, critic latent), each ``[K, N, H]``."""
        ext = self.template.mlp_extractor
        x = obs.flatten(start_dim=2)
        return self._mlp(x, "mlp_extractor.policy_net", ext.policy_net), self._mlp(x, "mlp_extractor.value_net", ext.value_net)

    def values(self, obs: torch.Tensor) -> torch.Tensor:
        return self._linear(self.latents(obs)[1], "value_net").squeeze(-1)

    def _scale(self, latent_pi: torch.Tensor) -> torch.Tensor:
        """Std of the Gaussian before squashing, ``[K, N, A]`` (gSDE: state dependent)."""
        std = torch.exp(self.p["log_std"])
        if self.kind == "sde":
            variance = torch.bmm(latent_pi.detach() ** 2, std**2)
            return torch.sqrt(variance + self.sde_eps)
        return std.unsqueeze(1).expand(latent_pi.shape[0], latent_pi.shape[1], -1)

    def _log_prob(self, mean: torch.Tensor, scale: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Log-density of (squashed) Gaussian actions, summed over the action axis → ``[K, N]``."""
        g = actions
        if self.squash:
            eps = torch.finfo(actions.dtype).eps
            y = actions.clamp(min=-1.0 + eps, max=1.0 - eps)
            g = 0.5 * (y.log1p() - (-y).log1p())
        lp = (-((g - mean) ** 2) / (2 * scale**2) - scale.log() - _LOG_SQRT_2PI).sum(dim=-1)
        if self.squash:
            lp = lp - torch.log(1.0 - torch.tanh(g) ** 2 + self.sde_eps).sum(dim=-1)
        return lp

    def act(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample as ``ActorCriticPolicy.forward``: (actions, values ``[K, N]``, log-probs ``[K, N]``)."""
        latent_pi, latent_vf = self.latents(obs)
        values = self._linear(latent_vf, "value_net").squeeze(-1)
        logits_or_mean = self._linear(latent_pi, "action_net")
        if self.kind == "categorical":
            logp = torch.log_softmax(logits_or_mean, dim=-1)
            k, n, m = logp.shape
            actions = torch.multinomial(logp.exp().reshape(k * n, m), 1, True).reshape(k, n)
            return actions, values, logp.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        scale = self._scale(latent_pi)
        if self.kind == "sde":
            lat = latent_pi.detach()
            if lat.shape[1] == 1 or lat.shape[1] != self.expl_mats.shape[1]:
                noise = torch.bmm(lat, self.expl_mat)
            else:
                noise = torch.matmul(lat.unsqueeze(2), self.expl_mats).squeeze(2)
        else:
            noise = scale * torch.randn_like(logits_or_mean)
        actions = logits_or_mean + noise
        if self.squash:
            actions = torch.tanh(actions)
        return actions, values, self._log_prob(logits_or_mean, scale, actions)

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """As ``ActorCriticPolicy.evaluate_actions``: (values, log-probs, entropy or None), each ``[K, N]``."""
        latent_pi, latent_vf = self.latents(obs)
        values = self._linear(latent_vf, "value_net").squeeze(-1)
        out = self._linear(latent_pi, "action_net")
        if self.kind == "categorical":
            logp = torch.log_softmax(out, dim=-1)
            return values, logp.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1), -(logp.exp() * logp).sum(-1)
        scale = self._scale(latent_pi)
        entropy = None if self.squash else (0.5 + _LOG_SQRT_2PI + scale.log()).sum(-1)
        return values, self._log_prob(out, scale, actions), entropy

    def reset_noise(self, k: int, n_envs: int) -> None:
        """Draw model k's gSDE matrices as SB3's ``sample_weights`` does (same generator draws)."""
        with torch.no_grad():
            std = torch.exp(self.p["log_std"][k])
            dist = Normal(torch.zeros_like(std), std)
            mat, mats = dist.rsample(), dist.rsample((n_envs,))
        n_models = self.p["log_std"].shape[0]
        if self.expl_mat is None or self.expl_mats.shape[1] != n_envs:
            self.expl_mat = torch.zeros((n_models,) + tuple(mat.shape))
            self.expl_mats = torch.zeros((n_models,) + tuple(mats.shape))
        self.expl_mat[k], self.expl_mats[k] = mat, mats


class BatchedPPO:
    """Train SB3 PPO ``models`` (model k owns cells ``groups[k]`` of ``hub.core``) together.

    ``round_hook(tag)`` is called where the per-model path's workers meet (``"round"`` at a rollout
    start once ``local_steps`` core steps have passed, ``"resume"`` at the first rollout start of a
    resumed run, ``"final"`` at the end); the SB3 models hold the current state while it runs.
    """

    def __init__(self, models: Sequence[PPO], hub: LockstepHub, local_steps: int):
        reason = unsupported_reason(models, [len(g) for g in hub.groups])
        if reason is not None:
            raise ValueError(f"batched PPO cannot train these models: {reason}")
        self.models, self.hub, self.local_steps = list(models), hub, int(local_steps)
        self.m0 = self.models[0]
        self.axis = ModelAxis(hub)
        self.K, self.n_envs = self.axis.K, self.axis.n_envs  # N per model, env index b·g + j
        self.policy = StackedActorCritic([m.policy for m in self.models])
        self.optimizer = adam_like(self.m0.policy.optimizer, self.policy.parameters, fused=True)
        stack_adam_state([m.policy.optimizer for m in self.models], self._per_model_params(), self.policy.parameters, self.optimizer)
        self.action_space = self.m0.action_space
        self.discrete = isinstance(self.action_space, spaces.Discrete)
        self.obs: torch.Tensor | None = None  # [K, N, F]
        self.episode_starts: np.ndarray | None = None  # [N]

    # -- the names the trainer's FedProx hook uses ---------------------------------------------------
    @property
    def policy_names(self) -> list[str]:
        return self.policy.names

    @property
    def parameters(self) -> list[torch.Tensor]:
        return self.policy.parameters

    # -- between the stacked tensors and the SB3 models ---------------------------------------------
    def _per_model_params(self) -> list[list[torch.Tensor]]:
        """Each SB3 model's parameters in the stacked order."""
        return [[dict(m.policy.named_parameters())[n] for n in self.policy.names] for m in self.models]

    def from_models(self) -> None:
        """Read the SB3 models' weights (after the federation server set them)."""
        self.policy.load([m.policy for m in self.models])

    def to_models(self) -> None:
        """Write weights, Adam state, gSDE matrices, last observations and counters into the SB3 models."""
        self.policy.store([m.policy for m in self.models])
        unstack_adam_state(self.optimizer, self.policy.parameters, [m.policy.optimizer for m in self.models], self._per_model_params())
        for k, m in enumerate(self.models):
            if self.policy.kind == "sde" and self.policy.expl_mat is not None:
                m.policy.action_dist.exploration_mat = self.policy.expl_mat[k].clone()
                m.policy.action_dist.exploration_matrices = self.policy.expl_mats[k].clone()
            if self.obs is not None:
                m._last_obs = self.obs[k].numpy().copy()
                m._last_episode_starts = self.episode_starts.copy()

    def restore_noise(self) -> None:
        """Take the gSDE matrices the SB3 models hold (a resumed run's checkpointed ones)."""
        if self.policy.kind == "sde":
            self.policy.expl_mat = torch.stack([m.policy.action_dist.exploration_mat for m in self.models]).detach().clone()
            self.policy.expl_mats = torch.stack([m.policy.action_dist.exploration_matrices for m in self.models]).detach().clone()

    # -- environment ---------------------------------------------------------------------------------
    def _to_env(self, actions: torch.Tensor) -> np.ndarray:
        """SB3's raw actions → what the environment takes (unscaled from [-1, 1], or clipped)."""
        a = actions.numpy()
        if self.discrete:
            return a
        low, high = self.action_space.low, self.action_space.high
        if self.policy.squash:
            return low + 0.5 * (a + 1.0) * (high - low)
        return np.clip(a, low, high)

    # -- one PPO iteration ---------------------------------------------------------------------------
    def _collect(self, n_steps: int) -> dict[str, Any]:
        hub, gamma = self.hub, self.m0.gamma
        K, N = self.K, self.n_envs
        obs_buf = torch.zeros((n_steps, K, N) + tuple(self.obs.shape[2:]))
        act_shape = (K, N) if self.discrete else (K, N) + tuple(self.action_space.shape)
        act_buf = torch.zeros((n_steps,) + act_shape)
        rew = np.zeros((n_steps, K, N), dtype=np.float32)
        starts = np.zeros((n_steps, N), dtype=np.float32)
        values = torch.zeros((n_steps, K, N))
        logps = torch.zeros((n_steps, K, N))
        for t in range(n_steps):
            with torch.no_grad():
                actions, vals, logp = self.policy.act(self.obs)
            hub.step_all(self.axis.to_core(self._to_env(actions), np.int64 if self.discrete else np.float64))
            r = self.axis.mine(hub.rewards).astype(np.float32)
            dones = np.repeat(hub.dones, self.axis.g)
            truncated = dones & np.repeat(hub.truncated & ~hub.terminated, self.axis.g)
            if truncated.any():
                # time-limit bootstrap, as collect_rollouts: r += γ V(terminal observation)
                idx = np.flatnonzero(truncated)
                # [B, C, F]; instances still running (never read below) keep their observation
                term = np.stack([info.get("terminal_observation", hub.obs[b]) for b, info in enumerate(hub.infos)])
                with torch.no_grad():
                    tv = self.policy.values(torch.as_tensor(self.axis.mine(term)[:, idx], dtype=torch.float32)).numpy()
                r[:, idx] += gamma * tv
            obs_buf[t], act_buf[t], rew[t], starts[t], values[t], logps[t] = self.obs, actions, r, self.episode_starts, vals, logp
            self.obs = torch.as_tensor(self.axis.mine(hub.obs), dtype=torch.float32)
            self.episode_starts = dones.astype(np.float32)
            for m in self.models:
                m.num_timesteps += N
        with torch.no_grad():
            last_values = self.policy.values(self.obs).numpy()
        adv = self._gae(rew, values.numpy(), starts, last_values, self.episode_starts)
        return {"obs": obs_buf, "actions": act_buf, "values": values, "log_probs": logps, "advantages": adv}

    def _gae(self, rew: np.ndarray, values: np.ndarray, starts: np.ndarray, last_values: np.ndarray, last_dones: np.ndarray) -> np.ndarray:
        """GAE(λ) over ``[T, K, N]`` as ``RolloutBuffer.compute_returns_and_advantage``."""
        gamma, lam = self.m0.gamma, self.m0.gae_lambda
        adv = np.zeros_like(rew)
        last = np.zeros_like(rew[0])
        for t in reversed(range(rew.shape[0])):
            if t == rew.shape[0] - 1:
                non_terminal, next_values = 1.0 - last_dones.astype(np.float32), last_values
            else:
                non_terminal, next_values = 1.0 - starts[t + 1], values[t + 1]
            delta = rew[t] + gamma * next_values * non_terminal - values[t]
            last = delta + gamma * lam * non_terminal * last
            adv[t] = last
        return adv

    @staticmethod
    def _flat(x: torch.Tensor) -> torch.Tensor:
        """``[T, K, N, ...]`` → ``[K, N·T, ...]`` in SB3's order (row n·T + t)."""
        x = x.transpose(0, 1).transpose(1, 2)
        return x.reshape((x.shape[0], x.shape[1] * x.shape[2]) + tuple(x.shape[3:]))

    def _train(self, data: dict[str, Any], progress_remaining: float) -> None:
        """One PPO update of every model on the rollout ``data``."""
        m0, K = self.m0, self.K
        for group in self.optimizer.param_groups:
            group["lr"] = m0.lr_schedule(progress_remaining)
        clip = m0.clip_range(progress_remaining)
        clip_vf = m0.clip_range_vf(progress_remaining) if m0.clip_range_vf is not None else None
        values_t = data["values"]
        adv_t = torch.as_tensor(data["advantages"])
        flat = {"obs": self._flat(data["obs"]), "actions": self._flat(data["actions"]), "old_values": self._flat(values_t),
                "old_log_prob": self._flat(data["log_probs"]), "advantages": self._flat(adv_t), "returns": self._flat(adv_t + values_t)}
        total, bs = flat["advantages"].shape[1], m0.batch_size
        # minibatch orders per model and epoch, drawn as RolloutBuffer.get draws them (model by model)
        perms = np.stack([np.stack([np.random.permutation(total) for _ in range(m0.n_epochs)]) for _ in range(K)])  # [K, E, total]
        rows = torch.arange(K).unsqueeze(1)
        stats = torch.zeros((4, K))  # policy loss, value loss, entropy loss, clip fraction (sums)
        n_batches = 0
        params = self.policy.parameters
        for epoch in range(m0.n_epochs):
            for start in range(0, total, bs):
                idx = torch.as_tensor(perms[:, epoch, start:start + bs])
                mb = {key: v[rows, idx] for key, v in flat.items()}
                values, log_prob, entropy = self.policy.evaluate(mb["obs"], mb["actions"])
                adv = mb["advantages"]
                if m0.normalize_advantage and adv.shape[1] > 1:
                    adv = (adv - adv.mean(dim=1, keepdim=True)) / (adv.std(dim=1, keepdim=True) + 1e-8)
                ratio = torch.exp(log_prob - mb["old_log_prob"])
                policy_loss = -torch.min(adv * ratio, adv * torch.clamp(ratio, 1 - clip, 1 + clip)).mean(dim=1)
                pred = values if clip_vf is None else mb["old_values"] + torch.clamp(values - mb["old_values"], -clip_vf, clip_vf)
                value_loss = ((mb["returns"] - pred) ** 2).mean(dim=1)
                entropy_loss = -(-log_prob).mean(dim=1) if entropy is None else -entropy.mean(dim=1)
                loss = policy_loss + m0.ent_coef * entropy_loss + m0.vf_coef * value_loss
                self.optimizer.zero_grad()
                loss.sum().backward()  # model k's weights get the gradient of loss[k] only
                self._proximal(params)
                clip_grad_norm_per_model(params, m0.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():
                    stats += torch.stack([policy_loss, value_loss, entropy_loss, ((ratio - 1).abs() > clip).float().mean(dim=1)])
                n_batches += 1
        self._log(stats / max(n_batches, 1), data, clip)

    proximal: Callable[[list[torch.Tensor]], None] | None = None  # FedProx: adds μ (w − w_global) to the grads

    def _proximal(self, params: list[torch.Tensor]) -> None:
        if self.proximal is not None:
            self.proximal(params)

    def _log(self, stats: torch.Tensor, data: dict[str, Any], clip: float) -> None:
        values = data["values"].numpy()
        returns = values + data["advantages"]
        for k, m in enumerate(self.models):
            m._n_updates += m.n_epochs
            log = m.logger
            log.record("train/policy_gradient_loss", float(stats[0, k]))
            log.record("train/value_loss", float(stats[1, k]))
            log.record("train/entropy_loss", float(stats[2, k]))
            log.record("train/clip_fraction", float(stats[3, k]))
            log.record("train/explained_variance", float(explained_variance(values[:, k].ravel(), returns[:, k].ravel())))
            if "log_std" in self.policy.p:
                log.record("train/std", float(torch.exp(self.policy.p["log_std"][k].detach()).mean()))
            log.record("train/n_updates", m._n_updates, exclude="tensorboard")
            log.record("train/clip_range", clip)
            log.record("time/total_timesteps", m.num_timesteps, exclude="tensorboard")
            log.dump(step=m.num_timesteps)

    # -- the loop ------------------------------------------------------------------------------------
    def _round(self, tag: str) -> None:
        self.to_models()
        self.hub.run_round(tag)
        self.from_models()

    def learn(self, total_core_steps: int, resumed: bool = False) -> None:
        """Run PPO iterations until the models have seen ``total_core_steps`` core steps each, as
        ``model.learn`` does on the per-model path (whole rollouts of ``n_steps``)."""
        m0, hub = self.m0, self.hub
        n_steps, target = m0.n_steps, total_core_steps * self.n_envs
        if resumed:
            self.obs = torch.as_tensor(np.stack([m._last_obs for m in self.models]), dtype=torch.float32)
            self.episode_starts = np.asarray(m0._last_episode_starts, dtype=np.float32)
        else:
            for m in self.models:
                m.num_timesteps = 0
            self.obs = torch.as_tensor(self.axis.mine(hub.reset_all()), dtype=torch.float32)
            self.episode_starts = np.ones(self.n_envs, dtype=np.float32)
        first = True
        while m0.num_timesteps < target:
            if first and resumed:
                self._round("resume")  # restores the checkpointed generators and gSDE matrices
                self.restore_noise()
            else:
                if self.policy.kind == "sde":
                    for k in range(self.K):  # as collect_rollouts: new matrices at every rollout start
                        self.policy.reset_noise(k, self.n_envs)
                if hub.steps - hub.last_round_step >= self.local_steps:
                    self._round("round")
            first = False
            data = self._collect(n_steps)
            self._train(data, 1.0 - float(m0.num_timesteps) / float(target))
        self._round("final")
