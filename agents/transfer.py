# SPDX-License-Identifier: GPL-2.0-only
"""Transfer between per-cell agents (TL-MADRL, docs/RESEARCH.md system 4): from whom, and how.

From whom: every agent (cell) logs ``(state, reward)`` samples while its cell runs a *default action*
(:func:`default_action_samples`, equal shares). A variational auto-encoder of the paper's size
(:class:`SampleVAE`: encoder 64-24-4, decoder 4-24-64) is fitted per *source* agent on its own
samples (:func:`fit_vae`). The distance from a target agent ``t`` to a source ``s``
(:func:`distance_matrix`) is the KL divergence between two diagonal Gaussians in source ``s``'s latent
space: the aggregate posterior of the target's samples and that of the source's own samples, both
encoded by source ``s``'s encoder (with the source's input standardisation). Identical data give 0;
data the source's VAE has not seen land elsewhere in its latent space and give more. With equal
variances the KL is the squared distance of the means over 2σ², the paper's approximation.
:func:`select_sources` picks, per target, the closest (or, for the ablation, the farthest) source.

How: the target's networks (actor, critic and their targets) start as a copy of the source's
(:func:`copy_weights`), and its replay buffer becomes a :class:`MixedReplayBuffer`: every sampled batch
takes ``round(ratio · batch)`` transitions from the source's replay (:func:`source_transitions`) and
the rest from the target's own. :func:`transfer_init` bundles both as a ``TrainConfig.model_init``
hook, and can freeze the source cells (greedy, no updates) while the targets learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from torch import nn

from slicebridge.agents.transitions import Transitions
from slicebridge.bridge.scenario import Scenario
from slicebridge.envs import autoreset, make_core

LATENT = 4  # the paper's latent size (encoder 64-24-4)


# -- samples under the default action ------------------------------------------------------------

def default_action_samples(scenario: Scenario, steps: int, num_envs: int = 4, seed: int | None = None,
                           simulator: str = "litesim") -> np.ndarray:
    """Per-cell ``(state, reward)`` samples with every cell at the default action (equal shares).

    Returns ``[C, steps · num_envs, F + 1]``: the observation ``[F]`` the agent would have seen before
    the step, then the reward of the step. Episodes restart at their end, as in training.
    """
    core = make_core(scenario, simulator, num_envs=num_envs, seed=seed)
    try:
        obs = core.reset()
        equal = np.ones((core.num_envs, core.n_cells, core.n_slices))  # raw outputs all equal → equal free part
        rows = []
        for _ in range(steps):
            nxt, rewards, terminated, truncated, infos = core.step(equal)
            rows.append(np.concatenate([obs, rewards[..., None]], axis=-1))  # [B, C, F + 1]
            obs = autoreset(core, nxt, infos) if (terminated | truncated).any() else nxt
    finally:
        core.close()
    data = np.stack(rows)  # [steps, B, C, F + 1]
    return np.ascontiguousarray(data.transpose(2, 0, 1, 3).reshape(core.n_cells, -1, data.shape[-1]))


# -- the VAE and the inter-agent distance -----------------------------------------------------------

class SampleVAE(nn.Module):
    """The paper's VAE: encoder ``in → 64 → 24 → (μ, log σ²) [4]``, decoder ``4 → 24 → 64 → in``."""

    def __init__(self, n_in: int, latent: int = LATENT):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_in, 64), nn.ReLU(), nn.Linear(64, 24), nn.ReLU(), nn.Linear(24, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, 24), nn.ReLU(), nn.Linear(24, 64), nn.ReLU(), nn.Linear(64, n_in))
        self.latent = latent

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [N, in]`` → ``(μ, log σ²)``, each ``[N, latent]``."""
        h = self.encoder(x)
        return h[:, : self.latent], h[:, self.latent :].clamp(-12.0, 8.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar


@dataclass
class FittedVAE:
    """A VAE with the input standardisation of the samples it was fitted on (``mean``, ``std`` ``[in]``)."""

    vae: SampleVAE
    mean: np.ndarray
    std: np.ndarray
    loss: float  # final epoch's mean ELBO loss per sample (reconstruction MSE sum + KL)

    def latent(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Aggregate posterior of samples ``x [N, in]`` as a diagonal Gaussian: mean and variance ``[latent]``
        (the mixture of the per-sample posteriors: E[μ] and E[σ²] + Var[μ])."""
        with torch.no_grad():
            mu, logvar = self.vae.encode(torch.as_tensor((np.asarray(x) - self.mean) / self.std, dtype=torch.float32))
        mu, var = mu.numpy().astype(np.float64), np.exp(logvar.numpy().astype(np.float64))
        return mu.mean(axis=0), var.mean(axis=0) + mu.var(axis=0)


def fit_vae(x: np.ndarray, epochs: int = 60, batch_size: int = 64, lr: float = 1e-3, seed: int = 0) -> FittedVAE:
    """Fit a :class:`SampleVAE` on samples ``x [N, in]`` (standardised per feature; Adam, ELBO with a
    summed squared-error reconstruction term). Deterministic for a given ``seed``."""
    x = np.asarray(x, dtype=np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)  # a constant feature stays 0 after standardising
    data = torch.as_tensor((x - mean) / std, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    vae = SampleVAE(x.shape[1])
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    loss_sum = 0.0
    for _ in range(epochs):
        loss_sum = 0.0
        for idx in torch.randperm(len(data), generator=gen).split(batch_size):
            batch = data[idx]
            recon, mu, logvar = vae(batch)
            rec = ((recon - batch) ** 2).sum(dim=1)
            kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(dim=1)
            loss = (rec + kl).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
    vae.eval()
    return FittedVAE(vae, mean, std, loss_sum / len(data))


def gaussian_kl(mu0: np.ndarray, var0: np.ndarray, mu1: np.ndarray, var1: np.ndarray) -> float:
    """KL(N(μ0, diag var0) ‖ N(μ1, diag var1)) in nats."""
    return float(0.5 * np.sum(var0 / var1 + (mu1 - mu0) ** 2 / var1 - 1.0 + np.log(var1 / var0)))


def distance_matrix(target_samples: Sequence[np.ndarray], source_samples: Sequence[np.ndarray],
                    vaes: Sequence[FittedVAE]) -> np.ndarray:
    """``D [T, S]``: ``D[t, s]`` = KL(target t's latent Gaussian ‖ source s's latent Gaussian), both in the
    latent space of ``vaes[s]`` (fitted on ``source_samples[s]``); samples ``[N, in]`` each."""
    if len(vaes) != len(source_samples):
        raise ValueError(f"{len(vaes)} VAEs for {len(source_samples)} sources: fit one VAE per source")
    d = np.zeros((len(target_samples), len(source_samples)))
    for s, (fitted, own) in enumerate(zip(vaes, source_samples)):
        mu_s, var_s = fitted.latent(own)
        for t, x in enumerate(target_samples):
            mu_t, var_t = fitted.latent(x)
            d[t, s] = gaussian_kl(mu_t, var_t, mu_s, var_s)
    return d


def select_sources(distances: np.ndarray, sources: Sequence[int], targets: Sequence[int], most_similar: bool = True) -> dict[int, int]:
    """Per target cell, the source cell at the smallest (``most_similar``) or largest distance.

    ``distances [C, C]`` indexed ``[target cell, source cell]``; a cell is never its own source."""
    pick: dict[int, int] = {}
    for t in targets:
        candidates = [s for s in sources if s != t]
        if not candidates:
            raise ValueError(f"target cell {t} has no source to transfer from (sources {list(sources)})")
        row = np.array([distances[t, s] for s in candidates])
        pick[int(t)] = int(candidates[int(np.argmin(row) if most_similar else np.argmax(row))])
    return pick


# -- weight loading and replay mixing ----------------------------------------------------------------

def copy_weights(target: BaseAlgorithm, source: BaseAlgorithm) -> None:
    """Load the source's policy networks (actor, critic and their target copies) into the target."""
    target.policy.load_state_dict(source.policy.state_dict())


def source_transitions(buffer: ReplayBuffer) -> Transitions:
    """Every stored transition of an SB3 replay buffer (all its envs), oldest first per env, flattened;
    a done that came from a time limit counts as not done (as SB3's own sampling does)."""
    if buffer.optimize_memory_usage:
        raise ValueError("source_transitions: a replay buffer with optimize_memory_usage=True is not supported")
    n = buffer.buffer_size if buffer.full else buffer.pos
    order = (np.arange(n) + buffer.pos) % buffer.buffer_size if buffer.full else np.arange(n)

    def flat(a: np.ndarray) -> np.ndarray:
        a = a[order]
        return np.ascontiguousarray(a.reshape((-1,) + a.shape[2:]))

    dones = flat(buffer.dones) * (1.0 - flat(buffer.timeouts))
    return Transitions(obs=flat(buffer.observations), actions=flat(buffer.actions), rewards=flat(buffer.rewards),
                       next_obs=flat(buffer.next_observations), dones=dones.astype(np.float32))


class MixedReplayBuffer(ReplayBuffer):
    """An SB3 replay buffer of the target's own transitions that mixes in a source's at a fixed ratio:
    each batch of ``n`` holds ``round(ratio · n)`` source transitions drawn uniformly from ``source``
    (all of them while the target has none of its own yet) and the rest from the target's own."""

    def __init__(self, *args: Any, source: Transitions, ratio: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"MixedReplayBuffer: ratio {ratio} must be in [0, 1] (the share of each batch from the source)")
        if len(source) == 0 and ratio > 0:
            raise ValueError("MixedReplayBuffer: the source holds no transitions; use ratio 0 or a source that has trained")
        self.source, self.ratio = source, float(ratio)

    def own_size(self) -> int:
        """Target transitions stored (over all envs)."""
        return (self.buffer_size if self.full else self.pos) * self.n_envs

    def sample(self, batch_size: int, env: Any = None) -> ReplayBufferSamples:
        n_src = int(round(self.ratio * batch_size)) if self.own_size() > 0 else batch_size
        n_own = batch_size - n_src
        idx = np.random.randint(0, len(self.source), size=n_src)
        src = self.source
        parts = [(src.obs[idx], src.actions[idx], src.next_obs[idx], src.dones[idx].reshape(-1, 1), src.rewards[idx].reshape(-1, 1))]
        if n_own > 0:
            own = super().sample(n_own, env=env)
            parts.append(tuple(t.cpu().numpy() for t in own[:5]))  # (a 6th field, n-step discounts, is None here)
        cols = [np.concatenate([np.asarray(p[i], dtype=np.float32) for p in parts]) for i in range(5)]
        return ReplayBufferSamples(*(self.to_torch(c) for c in cols))


def mix_replay(model: BaseAlgorithm, source: Transitions, ratio: float) -> MixedReplayBuffer:
    """Give ``model`` (an off-policy SB3 model, nothing stored yet) a :class:`MixedReplayBuffer` of the
    same size, spaces and envs as its own; returns it."""
    old = model.replay_buffer
    buf = MixedReplayBuffer(old.buffer_size * old.n_envs, old.observation_space, old.action_space, device=old.device, n_envs=old.n_envs,
                            handle_timeout_termination=old.handle_timeout_termination, source=source, ratio=ratio)
    model.replay_buffer = buf
    return buf


def freeze(model: BaseAlgorithm) -> None:
    """Make an off-policy model act greedily and stop learning (a deployed source cell)."""
    model.gradient_steps = 0
    model.action_noise = None
    model.learning_starts = 0  # no random warm-up actions either


def transfer_init(sources: Sequence[BaseAlgorithm], source_of: dict[int, int], replays: dict[int, Transitions],
                  ratio: float, frozen: Sequence[int] = ()) -> Callable[[int, BaseAlgorithm], None]:
    """A ``TrainConfig.model_init`` hook for per-cell models (model k = cell k).

    Target cell ``t`` (a key of ``source_of``) copies ``sources[source_of[t]]`` and mixes
    ``replays[source_of[t]]`` into its replay at ``ratio``; a cell in ``frozen`` copies its own trained
    model ``sources[k]`` and is frozen; any other cell starts fresh."""

    def init(k: int, model: BaseAlgorithm) -> None:
        if k in source_of:
            copy_weights(model, sources[source_of[k]])
            mix_replay(model, replays[source_of[k]], ratio)
        elif k in frozen:
            copy_weights(model, sources[k])
            freeze(model)

    return init
