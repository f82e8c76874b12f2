# SPDX-License-Identifier: GPL-2.0-only
"""The MFRL problem (docs/RESEARCH.md, system 3): UEs choose an uplink subchannel and a transmit power.

This is not slicing: every UE of one cell is an agent. In each 1 ms step UE ``i`` picks one of
``N = 10`` orthogonal subchannels (bandwidths :data:`BANDWIDTHS_MHZ`) and a transmit power in
``[0, 24]`` dBm. Link budget of UE ``i`` on subchannel ``n`` (all in dB unless said otherwise)::

    PL(d)  = 32.4 + 20 log10(f / GHz) + 30 log10(d / m)           (litesim.channel.log_distance_db)
    noise  = N0 [dBm/Hz] + 10 log10(W_n / Hz) + NF_BS               (uplink: the BS receives)
    SNR    = p + G_BS + G_UE − PL − shadowing − noise + 10 log10 |h_n|²
    rate   = W_n log2(1 + SNR_lin)                  [Mbit/s with W_n in MHz]
    EE     = rate / (p_W + P_circuit)               [Mbit/J]

Shadowing (log-normal, σ dB, one value per UE, flat over the subchannels) is redrawn every
``shadowing_period_steps`` steps (100 ms); Rayleigh fading ``|h_n|²`` ~ Exp(1), independent per UE
and subchannel, every step (1 ms); UEs move at a speed drawn in ``[0, max_speed]`` m/s in a fixed
random heading inside the cell (litesim.channel supplies the path loss, shadowing and fading draws).

**Success and reward.** UE ``i`` *succeeds* in a step when no other UE chose its subchannel and its
SNR is at least ``snr_min_db`` (5 dB). The shared reward of the step is ``Σ_i EE_i`` when every UE
succeeds, else ``(I_success − I) / I`` (in ``[−1, 0)``). The running count of a UE's successes
``β_i`` over its steps ``T`` is the ``η_i = β_i / T`` of MFRL's weighted federation.

**Observation** of UE ``i`` (``obs_dim = 3N + 2`` floats, the same for every number of UEs, so one
network serves tasks with 2, 4, 8 or 6 UEs): the SNR it would get at full power on each
subchannel in this step, ``(SNR_max − snr_min) / 20`` clipped to ``[−3, 5]`` (local CSI); its
previous subchannel as a signed one-hot (+1 if it succeeded there, −1 if it failed); which subchannels another UE used in the previous step (0/1, the BS's
broadcast feedback); its previous power ``/ 24 dBm``; whether it succeeded in the previous step.

Views: :class:`MfrlCore` (batched over ``B`` instances, arrays ``[B, I, ...]``),
:class:`MfrlEnv` (Gymnasium, the cell as one env) and :class:`MfrlParallelEnv` (PettingZoo Parallel,
one agent ``ue_<i>`` per UE, sharing the reward).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from slicebridge.litesim.channel import log_distance_db, lognormal_shadowing_db, rayleigh_power_gain

BANDWIDTHS_MHZ = (0.18, 0.18, 0.36, 0.36, 0.36, 0.72, 0.72, 0.72, 1.44, 1.44)
# noise power spectral density (dBm/Hz) of the paper's four scenarios
NOISE_DENSITY_DBM_HZ = {"indoor": -160.0, "urban_micro": -170.0, "urban_macro": -180.0, "rural_macro": -185.0}
OBS_CLIP = (-3.0, 5.0)
SNR_SCALE_DB = 20.0


@dataclass(frozen=True)
class MfrlConfig:
    """The cell. Paper values unless marked *ours* (not given in our summary of the paper)."""

    n_ues: int = 6
    scenario: str = "urban_micro"  # key of NOISE_DENSITY_DBM_HZ
    bandwidths_mhz: tuple[float, ...] = BANDWIDTHS_MHZ
    carrier_ghz: float = 6.0
    min_power_dbm: float = 0.0
    max_power_dbm: float = 24.0
    snr_min_db: float = 5.0
    bs_gain_db: float = 8.0
    ue_gain_db: float = 3.0
    bs_noise_figure_db: float = 5.0  # the receiver's (uplink); the UE's 9 dB would apply to a downlink
    path_loss_exponent: float = 3.0
    shadowing_std_db: float = 8.0  # ours (the value of the 3GPP/ Liang et al. setup the paper's channel follows)
    shadowing_period_steps: int = 100  # 100 ms at 1 ms per step
    step_ms: float = 1.0
    max_speed_mps: float = 1.0
    cell_radius_m: float = 200.0  # ours
    min_distance_m: float = 10.0  # ours
    circuit_power_w: float = 0.1  # ours: with 0 the best power is always the least that meets the SNR floor
    episode_steps: int = 200  # ours

    def __post_init__(self) -> None:
        if self.scenario not in NOISE_DENSITY_DBM_HZ:
            raise ValueError(f"MfrlConfig.scenario {self.scenario!r} unknown; allowed: {sorted(NOISE_DENSITY_DBM_HZ)}")
        if self.n_ues < 1:
            raise ValueError(f"MfrlConfig.n_ues must be >= 1, got {self.n_ues}")
        if not 0 < self.min_distance_m < self.cell_radius_m:
            raise ValueError(f"MfrlConfig needs 0 < min_distance_m < cell_radius_m, got {self.min_distance_m}, {self.cell_radius_m}")
        if self.min_power_dbm > self.max_power_dbm:
            raise ValueError(f"MfrlConfig power range [{self.min_power_dbm}, {self.max_power_dbm}] dBm is empty")

    @property
    def n_subchannels(self) -> int:
        return len(self.bandwidths_mhz)

    @property
    def noise_density_dbm_hz(self) -> float:
        return NOISE_DENSITY_DBM_HZ[self.scenario]

    @property
    def obs_dim(self) -> int:
        return 3 * self.n_subchannels + 2

    def with_(self, **changes: Any) -> "MfrlConfig":
        return replace(self, **changes)


def noise_dbm(cfg: MfrlConfig) -> np.ndarray:
    """Noise power per subchannel ``[N]`` (dBm) at the BS receiver."""
    return cfg.noise_density_dbm_hz + 10.0 * np.log10(np.asarray(cfg.bandwidths_mhz) * 1e6) + cfg.bs_noise_figure_db


def path_loss_db(cfg: MfrlConfig, distance_m: np.ndarray) -> np.ndarray:
    """``32.4 + 20 log10(f/GHz) + 30 log10(d/m)`` (with the configured exponent)."""
    return log_distance_db(distance_m, 32.4 + 20.0 * np.log10(cfg.carrier_ghz), cfg.path_loss_exponent)


def link_metrics(cfg: MfrlConfig, gain_db: np.ndarray, subchannel: np.ndarray, power_dbm: np.ndarray) -> dict[str, np.ndarray]:
    """SNR, rate, EE, collisions, success and the shared reward of one step.

    ``gain_db [B, I, N]``: received power minus transmit power on each subchannel (antenna gains −
    path loss − shadowing + fading, dB); ``subchannel [B, I]`` int in ``[0, N)``; ``power_dbm [B, I]``
    (clipped to the power range). Returns arrays ``[B, I]`` (``snr_db``, ``rate_mbps``, ``ee``
    Mbit/J, ``collided``, ``success``) and ``reward [B]``.
    """
    n = cfg.n_subchannels
    sub = np.asarray(subchannel, dtype=np.int64)
    if sub.min(initial=0) < 0 or sub.max(initial=0) >= n:
        raise ValueError(f"subchannel indices must lie in [0, {n}), got {np.unique(sub)}")
    p_dbm = np.clip(np.asarray(power_dbm, dtype=np.float64), cfg.min_power_dbm, cfg.max_power_dbm)
    g = np.take_along_axis(np.asarray(gain_db, dtype=np.float64), sub[..., None], axis=-1)[..., 0]
    snr_db = p_dbm + g - noise_dbm(cfg)[sub]
    bw = np.asarray(cfg.bandwidths_mhz)[sub]
    rate = bw * np.log2(1.0 + 10.0 ** (snr_db / 10.0))
    ee = rate / (10.0 ** (p_dbm / 10.0) * 1e-3 + cfg.circuit_power_w)
    counts = (sub[..., None] == np.arange(n)).sum(axis=-2)  # [B, N] UEs on each subchannel
    collided = np.take_along_axis(counts, sub, axis=-1) > 1
    success = ~collided & (snr_db >= cfg.snr_min_db)
    n_ues = sub.shape[-1]
    all_ok = success.all(axis=-1)
    reward = np.where(all_ok, ee.sum(axis=-1), (success.sum(axis=-1) - n_ues) / n_ues)
    return {"snr_db": snr_db, "rate_mbps": rate, "ee": ee, "collided": collided, "success": success, "reward": reward,
            "occupancy": counts}  # occupancy [B, N]


class MfrlCore:
    """``B`` independent cells of ``I`` UEs, batched in NumPy.

    ``reset(seed) -> obs [B, I, D]`` draws new layouts (positions, speeds, headings), shadowing and
    fading. ``step(subchannel [B, I], power_dbm [B, I]) -> (obs, reward [B], terminated [B],
    truncated [B], info)``; ``info`` holds the arrays of :func:`link_metrics` for the step. The
    action meets the channel that the observation showed; then time advances (mobility, new
    fading, shadowing at its period). After ``episode_steps`` steps ``truncated`` is set and the
    core must be reset (it never resets by itself). ``successes [B, I]`` and ``steps_taken`` count
    β_i and T since the last reset.
    """

    def __init__(self, config: MfrlConfig, num_envs: int = 1, seed: int | None = None):
        self.cfg = config
        self.num_envs = int(num_envs)
        self.n_ues, self.n_subchannels, self.obs_dim = config.n_ues, config.n_subchannels, config.obs_dim
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self._started = False
        self._noise = noise_dbm(config)

    # -- state ---------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> np.ndarray:
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        cfg, rng, shape = self.cfg, self.rng, (self.num_envs, self.n_ues)
        r = np.sqrt(rng.uniform(cfg.min_distance_m**2, cfg.cell_radius_m**2, shape))
        phi = rng.uniform(0.0, 2 * np.pi, shape)
        self.xy = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=-1)  # [B, I, 2], BS at the origin
        heading = rng.uniform(0.0, 2 * np.pi, shape)
        self.velocity = rng.uniform(0.0, cfg.max_speed_mps, shape)[..., None] * np.stack([np.cos(heading), np.sin(heading)], -1)
        self.shadowing_db = lognormal_shadowing_db(rng, cfg.shadowing_std_db, shape)
        self.fading = rayleigh_power_gain(rng, (*shape, self.n_subchannels))
        self.prev_sub = np.full(shape, -1)
        self.prev_power_dbm = np.zeros(shape)
        self.prev_success = np.zeros(shape, dtype=bool)
        self.prev_others = np.zeros((*shape, self.n_subchannels), dtype=bool)
        self.successes = np.zeros(shape, dtype=np.int64)
        self.t = 0
        self._started = True
        return self.observation()

    def gain_db(self) -> np.ndarray:
        """Received minus transmitted power ``[B, I, N]`` (dB) in the current step."""
        cfg = self.cfg
        dist = np.hypot(self.xy[..., 0], self.xy[..., 1])
        large = cfg.bs_gain_db + cfg.ue_gain_db - path_loss_db(cfg, dist) - self.shadowing_db  # [B, I]
        return large[..., None] + 10.0 * np.log10(self.fading)

    def observation(self) -> np.ndarray:
        cfg = self.cfg
        snr_max = cfg.max_power_dbm + self.gain_db() - self._noise
        csi = np.clip((snr_max - cfg.snr_min_db) / SNR_SCALE_DB, *OBS_CLIP)
        # +1 on the subchannel where the UE succeeded last step, -1 where it failed: "stay" and "leave"
        # are then one linear map away for a policy shared by every UE
        sign = np.where(self.prev_success, 1.0, -1.0)[..., None]
        onehot = (self.prev_sub[..., None] == np.arange(self.n_subchannels)) * sign
        return np.concatenate([csi, onehot, self.prev_others.astype(np.float64),
                               (self.prev_power_dbm / cfg.max_power_dbm)[..., None], self.prev_success[..., None].astype(np.float64)],
                              axis=-1).astype(np.float32)

    @property
    def steps_taken(self) -> int:
        return self.t

    # -- dynamics ------------------------------------------------------------------------------
    def step(self, subchannel: np.ndarray, power_dbm: np.ndarray):
        if not self._started:
            raise RuntimeError("MfrlCore.step() called before reset()")
        if self.t >= self.cfg.episode_steps:
            raise RuntimeError(f"MfrlCore.step() after the episode ended ({self.cfg.episode_steps} steps); call reset() first")
        shape = (self.num_envs, self.n_ues)
        sub = np.asarray(subchannel).reshape(shape)
        power = np.asarray(power_dbm, dtype=np.float64).reshape(shape)
        info = link_metrics(self.cfg, self.gain_db(), sub, power)
        self.successes += info["success"]
        # what each UE sees next: its own choice and whether *another* UE used each subchannel
        mine = sub[..., None] == np.arange(self.n_subchannels)
        self.prev_others = (info["occupancy"][:, None, :] - mine) > 0
        self.prev_sub, self.prev_power_dbm, self.prev_success = sub, np.clip(power, self.cfg.min_power_dbm, self.cfg.max_power_dbm), info["success"]
        self._advance()
        truncated = np.full(self.num_envs, self.t >= self.cfg.episode_steps)
        return self.observation(), info["reward"], np.zeros(self.num_envs, dtype=bool), truncated, info

    def _advance(self) -> None:
        cfg, rng = self.cfg, self.rng
        self.t += 1
        new = self.xy + self.velocity * (cfg.step_ms / 1000.0)
        r = np.hypot(new[..., 0], new[..., 1])
        inside = (r >= cfg.min_distance_m) & (r <= cfg.cell_radius_m)
        self.xy = np.where(inside[..., None], new, self.xy)
        self.velocity = np.where(inside[..., None], self.velocity, -self.velocity)  # turn back at the edge
        if self.t % cfg.shadowing_period_steps == 0:
            self.shadowing_db = lognormal_shadowing_db(rng, cfg.shadowing_std_db, self.shadowing_db.shape)
        self.fading = rayleigh_power_gain(rng, self.fading.shape)


def _obs_box(cfg: MfrlConfig, shape: tuple[int, ...]) -> spaces.Box:
    low = np.zeros(shape, np.float32)
    low[..., : cfg.n_subchannels] = OBS_CLIP[0]
    low[..., cfg.n_subchannels: 2 * cfg.n_subchannels] = -1.0
    high = np.ones(shape, np.float32)
    high[..., : cfg.n_subchannels] = OBS_CLIP[1]
    return spaces.Box(low, high, dtype=np.float32)


def _ue_action_space(cfg: MfrlConfig) -> spaces.Dict:
    return spaces.Dict({"subchannel": spaces.Discrete(cfg.n_subchannels),
                        "power_dbm": spaces.Box(cfg.min_power_dbm, cfg.max_power_dbm, (1,), np.float32)})


def _step_info(info: dict[str, np.ndarray], b: int = 0) -> dict[str, np.ndarray]:
    return {k: info[k][b] for k in ("snr_db", "rate_mbps", "ee", "collided", "success")}


class MfrlEnv(gym.Env):
    """The cell as one Gymnasium env: obs ``[I, D]``; action ``{"subchannel": MultiDiscrete([N] * I),
    "power_dbm": Box(0, 24, (I,))}``; reward the shared reward; info the per-UE SNR, rate, EE, success."""

    metadata = {"render_modes": []}

    def __init__(self, config: MfrlConfig | None = None):
        self.cfg = config or MfrlConfig()
        self.core = MfrlCore(self.cfg, num_envs=1)
        i, n = self.cfg.n_ues, self.cfg.n_subchannels
        self.observation_space = _obs_box(self.cfg, (i, self.cfg.obs_dim))
        self.action_space = spaces.Dict({"subchannel": spaces.MultiDiscrete([n] * i),
                                         "power_dbm": spaces.Box(self.cfg.min_power_dbm, self.cfg.max_power_dbm, (i,), np.float32)})

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        # the core's generator follows Gymnasium's (seeded here when a seed is given)
        obs = self.core.reset(seed=int(self.np_random.integers(2**63 - 1)))
        return obs[0], {}

    def step(self, action: dict[str, np.ndarray]) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.core.step(np.asarray(action["subchannel"])[None], np.asarray(action["power_dbm"])[None])
        return obs[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), _step_info(info)


class MfrlParallelEnv(ParallelEnv):
    """PettingZoo Parallel env: one agent ``ue_<i>`` per UE with action ``{"subchannel": Discrete(N),
    "power_dbm": Box(0, 24, (1,))}``; every agent gets the shared reward."""

    metadata = {"name": "slicebridge_mfrl_v0", "render_modes": []}

    def __init__(self, config: MfrlConfig | None = None):
        self.cfg = config or MfrlConfig()
        self.core = MfrlCore(self.cfg, num_envs=1)
        self.possible_agents = [f"ue_{i}" for i in range(self.cfg.n_ues)]
        self.agents: list[str] = []

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> spaces.Space:
        return _obs_box(self.cfg, (self.cfg.obs_dim,))

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str) -> spaces.Space:
        return _ue_action_space(self.cfg)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs = self.core.reset(seed=seed)[0]
        self.agents = list(self.possible_agents)
        return {a: obs[i] for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        missing = [a for a in self.possible_agents if a not in actions]
        if missing:
            raise ValueError(f"MfrlParallelEnv.step(): no action for agents {missing}")
        sub = np.array([int(actions[a]["subchannel"]) for a in self.possible_agents])
        power = np.array([float(np.asarray(actions[a]["power_dbm"]).reshape(-1)[0]) for a in self.possible_agents])
        obs, reward, terminated, truncated, info = self.core.step(sub[None], power[None])
        agents = self.possible_agents
        step = _step_info(info)
        out_info = {a: {k: v[i] for k, v in step.items()} for i, a in enumerate(agents)}
        done = bool(terminated[0] or truncated[0])
        out = ({a: obs[0, i] for i, a in enumerate(agents)}, {a: float(reward[0]) for a in agents},
               {a: bool(terminated[0]) for a in agents}, {a: bool(truncated[0]) for a in agents}, out_info)
        if done:
            self.agents = []
        return out
