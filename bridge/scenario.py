"""The scenario contract: one YAML file, validated once into one typed, immutable object.

Both simulators (litesim and the ns-3 program) read a :class:`Scenario`. Validation happens here and
only here; every error names the file, the dotted field path and the allowed values or range.
Units are in the field names (``_ms``, ``_mbps``, ``_db``, ``_m``, ...).

The contract's edge: a file that is missing, a directory, not UTF-8, not YAML, empty or not a mapping
raises :class:`ScenarioError` like a schema violation does; no other exception leaves
:meth:`Scenario.from_yaml`. Every number must be finite and lie in a range both simulators handle
(upper bounds included: ``rate_mbps: 1e35`` is finite but overflows litesim's float32 queues into NaN
KPIs, and would flood ns-3 with packet events); ``true``/``false`` are accepted only by yes/no
fields, never as a number, and a quoted number ("3") or a float for an integer field is refused, not coerced.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from slicebridge.bridge.contract import TRAFFIC_MODELS
from slicebridge.bridge.kpi import KPI_NAMES

LTE_BANDWIDTHS_PRB = (6, 15, 25, 50, 75, 100)
# radio.technology values some simulator models (nr: ns-3 with 5G-LENA, slicebridge-nr; docs/NR.md)
SIMULATED_TECHNOLOGIES = ("lte", "nr")
NR_NUMEROLOGIES = (0, 1, 2, 3, 4)  # 5G-LENA's: subcarrier spacing 15·2^µ kHz, slot 1/2^µ ms
NR_MAX_CHANNEL_MHZ = 400.0  # widest NR carrier (FR2, 38.101-2); 275 PRBs at µ = 3 need 396 MHz
SLICE_KINDS = ("embb", "urllc", "mmtc", "volte", "video", "other")
REWARD_NAMES = ("min_satisfaction", "utility_cost", "sigmoid_utility", "se_ssr")
# Default QCI per slice kind for the ns-3 bearers (a slice is identified by its bearer in the MAC).
DEFAULT_QCI = {"embb": 9, "urllc": 7, "mmtc": 8, "volte": 1, "video": 6, "other": 5}
# Upper bounds of open-ended quantities: far beyond any meaningful cell, yet small enough that
# neither simulator overflows (litesim keeps float32 state; ns-3 schedules one event per packet).
MAX_RATE_MBPS = 10_000.0  # per UE
MAX_ABSOLUTE_ACTIONS = 200_000  # absolute action mode: splits enumerated per cell (the paper's finest: 4851)
MAX_DURATION_MS = 3_600_000.0  # one hour: traffic periods, on/off times, delay budgets
MAX_DISTANCE_M = 100_000.0
MAX_LOAD_SCALE = 100.0
MAX_PROFILE_STEPS = 1_000_000  # load-profile hold/period lengths and per-cell shifts, in decision steps
MAX_WARMUP_PERIODS = 1000  # litesim runs every warm-up period; ns-3 simulates them


class ScenarioError(ValueError):
    """A scenario file or dictionary does not satisfy the contract."""


class _Model(BaseModel):
    # allow_inf_nan=False: .inf, -.inf and .nan (or '1e999') are rejected as "not a finite number"
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _not_bool(value: Any) -> Any:
    """A number as written, not coerced: YAML's true/false (also yes/no/on/off) would pass as 1/0 and a
    quoted "3" as 3 in pydantic's lax mode; only yes/no fields take booleans, only text fields strings."""
    if isinstance(value, bool):
        raise ValueError("true/false is not a number; give a number")
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{value!r} is text, not a number; write the number without quotes")
    return value


def _integer(value: Any) -> Any:
    """An integer field takes integers only (strict): 3.0 or 2.5 is refused, not rounded."""
    value = _not_bool(value)
    if isinstance(value, float):
        raise ValueError(f"{value!r} is not an integer; give a whole number without a decimal point")
    return value


# Numbers as the schema accepts them: finite (see _Model), never a YAML boolean or a quoted string;
# an integer (YAML 3) is a valid float, a float (3.0) is not a valid integer.
Float = Annotated[float, BeforeValidator(_not_bool)]
Int = Annotated[int, BeforeValidator(_integer)]


# ----------------------------------------------------------------------------------------------
# Topology and radio
# ----------------------------------------------------------------------------------------------
class Topology(_Model):
    """Hexagonal layout of sites; every site has 1 (omni) or 3 (120° sectors) cells."""

    sites: Int = Field(1, ge=1, le=57)
    sectors: Annotated[Literal[1, 3], BeforeValidator(_not_bool)] = 1
    inter_site_distance_m: Float = Field(500.0, ge=1, le=MAX_DISTANCE_M)
    cell_radius_m: Float | None = Field(None, ge=1, le=MAX_DISTANCE_M, description="UE drop radius; default ISD/√3")
    min_ue_distance_m: Float = Field(10.0, ge=1, le=MAX_DISTANCE_M)
    # non-IID cells: cell c offers cell_load_scale[c] · profile(k + cell_load_shift_steps[c]) at step k
    cell_load_scale: tuple[Float, ...] = Field(
        (), description="per-cell multiplier of every slice's offered load, one per cell (empty = 1 everywhere)")
    cell_load_shift_steps: tuple[Int, ...] = Field(
        (), description="per-cell shift of every slice's load profile in decision steps, one per cell (empty = 0)")

    @model_validator(mode="after")
    def _per_cell_lists(self) -> "Topology":
        for name, values, hi in (("cell_load_scale", self.cell_load_scale, MAX_LOAD_SCALE),
                                 ("cell_load_shift_steps", self.cell_load_shift_steps, MAX_PROFILE_STEPS)):
            if values and len(values) != self.n_cells:
                raise ValueError(f"{name} needs one value per cell: {self.n_cells} (sites {self.sites} x sectors "
                                 f"{self.sectors}), got {len(values)}; leave it out for the same value everywhere")
            bad = [v for v in values if not 0 <= v <= hi]
            if bad:
                raise ValueError(f"{name} values must lie in [0, {hi:g}], got {bad[:5]}")
        return self

    @property
    def n_cells(self) -> int:
        return self.sites * self.sectors

    @property
    def drop_radius_m(self) -> float:
        return self.cell_radius_m if self.cell_radius_m is not None else self.inter_site_distance_m / 3**0.5


class Propagation(_Model):
    """Large-scale channel. Model names match the ns-3 propagation loss models used by the program."""

    model: Literal["log_distance", "friis", "cost231", "okumura_hata"] = "log_distance"
    exponent: Float = Field(3.0, gt=1, le=6, description="log_distance only")
    reference_loss_db: Float = Field(46.6777, ge=0, le=200, description="log_distance loss at 1 m")
    shadowing_std_db: Float = Field(0.0, ge=0, le=20)
    shadowing_scope: Literal["link", "site"] = Field(
        "link", description="link: an independent shadowing draw per UE and cell; site: one draw per UE and "
        "site, shared by the site's co-sited sectors (their links share the propagation path; 3GPP TR 36.942 "
        "correlates them fully), so a UE dropped in a sector is not shadowed below a co-sited neighbour")


class Antenna(_Model):
    """Sector antenna (parabolic pattern, used when topology.sectors == 3)."""

    beamwidth_deg: Float = Field(70.0, gt=0, le=360)
    max_attenuation_db: Float = Field(20.0, ge=0, le=100)


class Radio(_Model):
    technology: Literal["lte", "nr"] = "lte"
    bandwidth_prb: Int = Field(25, ge=6, le=275)
    carrier_mhz: Float = Field(2120.0, gt=400, le=100000)
    tx_power_dbm: Float = Field(43.0, ge=-10, le=60)
    noise_figure_db: Float = Field(9.0, ge=0, le=20, description="UE receiver noise figure")
    propagation: Propagation = Propagation()
    antenna: Antenna = Antenna()
    fading: bool = False
    scheduler: Literal["pf", "rr"] = "pf"
    cqi_source: Literal["pdsch", "pdcch"] = Field(
        "pdsch", description="LTE: the interference a UE's CQI is measured against. pdsch (ns-3's default): "
        "the data channel's, where a neighbour transmits only in its busy TTIs, so a CQI measured in an "
        "idle TTI is too high for a busy one and the TB fails (no outer-loop link adaptation in ns-3); "
        "pdcch: the control channel's, which every neighbour sends in every TTI: link adaptation for "
        "full-load interference, TBs rarely fail, the rate does not rise while the neighbours idle "
        "(ns-3 LteHelper::UsePdschForCqiGeneration)")
    numerology: Int = Field(0, ge=0, le=4, description="NR only: subcarrier spacing 15·2^µ kHz, slot 1/2^µ ms")

    @model_validator(mode="after")
    def _lte_bandwidth(self) -> "Radio":
        if self.technology not in SIMULATED_TECHNOLOGIES:
            raise ValueError(f"technology {self.technology!r} has no simulator yet; allowed: "
                             f"{', '.join(SIMULATED_TECHNOLOGIES)}")
        if self.technology == "lte" and self.bandwidth_prb not in LTE_BANDWIDTHS_PRB:
            raise ValueError(f"bandwidth_prb must be one of {list(LTE_BANDWIDTHS_PRB)} for LTE")
        if self.technology == "nr" and self.cqi_source != "pdsch":
            raise ValueError(f"cqi_source {self.cqi_source!r} is LTE only (ns-3's LteHelper::UsePdschForCqiGeneration); "
                             "5G-LENA measures CQI on the data channel: leave cqi_source at pdsch for NR")
        if self.technology == "nr" and self.channel_mhz > NR_MAX_CHANNEL_MHZ:
            raise ValueError(f"bandwidth_prb {self.bandwidth_prb} at numerology {self.numerology} spans "
                             f"{self.channel_mhz:g} MHz, wider than an NR carrier ({NR_MAX_CHANNEL_MHZ:g} MHz): "
                             "use fewer PRBs or a lower numerology")
        return self

    @property
    def prb_khz(self) -> float:
        """Width of one PRB in kHz: 12 subcarriers of 15 kHz (LTE), of 15·2^µ kHz (NR)."""
        return 180.0 * (2 ** self.numerology if self.technology == "nr" else 1)

    @property
    def channel_mhz(self) -> float:
        """The PRBs' bandwidth in MHz (what the NR program configures as the carrier's bandwidth)."""
        return self.bandwidth_prb * self.prb_khz / 1000.0


# ----------------------------------------------------------------------------------------------
# Traffic, load profile, SLA, slices
# ----------------------------------------------------------------------------------------------
class CbrTraffic(_Model):
    model: Literal["cbr"]
    rate_mbps: Float = Field(gt=0, le=MAX_RATE_MBPS, description="per UE")
    packet_size_bytes: Int = Field(1200, ge=12, le=1500)


class PoissonTraffic(_Model):
    model: Literal["poisson"]
    rate_mbps: Float = Field(gt=0, le=MAX_RATE_MBPS, description="mean per UE")
    packet_size_bytes: Int = Field(1200, ge=12, le=1500)


class OnOffTraffic(_Model):
    model: Literal["onoff"]
    rate_mbps: Float = Field(gt=0, le=MAX_RATE_MBPS, description="per UE while on")
    on_ms: Float = Field(ge=0.01, le=MAX_DURATION_MS, description="mean on duration (exponential)")
    off_ms: Float = Field(ge=0.01, le=MAX_DURATION_MS, description="mean off duration (exponential)")
    packet_size_bytes: Int = Field(1200, ge=12, le=1500)


class PeriodicTraffic(_Model):
    model: Literal["periodic"]
    period_ms: Float = Field(ge=0.01, le=MAX_DURATION_MS)
    packet_size_bytes: Int = Field(200, ge=12, le=1500)


class FullBufferTraffic(_Model):
    """Always backlogged: the source offers more than the cell can carry."""

    model: Literal["full_buffer"]
    rate_mbps: Float = Field(100.0, gt=0, le=MAX_RATE_MBPS, description="offered per UE; keep above cell capacity")
    packet_size_bytes: Int = Field(1200, ge=12, le=1500)


class UniformTraffic(_Model):
    """Renewal source: inter-arrival times uniform on ``m·[1 − jitter, 1 + jitter]``, m the mean interval."""

    model: Literal["uniform"]
    rate_mbps: Float = Field(gt=0, le=MAX_RATE_MBPS, description="mean per UE")
    jitter: Float = Field(1.0, ge=0, le=1, description="half-width of the interval range / mean interval")
    packet_size_bytes: Int = Field(1200, ge=12, le=1500)


class TruncatedExponentialTraffic(_Model):
    """Renewal source: exponential inter-arrival times redrawn above ``truncation·m``, the exponential's
    mean set so that the mean interval stays m (contract.truncated_exponential_scale)."""

    model: Literal["truncated_exponential"]
    rate_mbps: Float = Field(gt=0, le=MAX_RATE_MBPS, description="mean per UE")
    # Above 2 in theory (contract.truncated_exponential_scale), but as it nears 2 the exponential's mean
    # grows without bound: ns-3's redraw loop then accepts almost no draw (1 in 7 at 2.05, none left
    # in practice at 2 + 1e-9) and litesim's variance formula cancels to a negative value (NaN KPIs).
    truncation: Float = Field(3.0, ge=2.05, le=1000, description="longest inter-arrival / mean inter-arrival")
    packet_size_bytes: Int = Field(1200, ge=12, le=1500)


Traffic = Annotated[
    Union[CbrTraffic, PoissonTraffic, OnOffTraffic, PeriodicTraffic, FullBufferTraffic, UniformTraffic,
          TruncatedExponentialTraffic],
    Field(discriminator="model"),
]


class LoadProfile(_Model):
    """Time-varying multiplier of a slice's offered load, one value per decision step.

    ``constant``: ``scale``. ``piecewise``: ``values`` each held ``hold_steps`` steps, cycled.
    ``sinusoid``: ``scale · (1 + amplitude · sin(2π (step/period_steps) + phase_rad))``.

    ``applies_to``: ``rate`` scales every UE's rate; ``active_ues`` makes it a traffic mask in [0, 1]
    that scales the number of UEs offering traffic: ``min(N, ⌊m·N + ½⌋)`` of the slice's N UEs of the
    cell, the first ones in UE order, each at its full rate (``contract.active_ue_count``).
    """

    kind: Literal["constant", "piecewise", "sinusoid"] = "constant"
    scale: Float = Field(1.0, ge=0, le=MAX_LOAD_SCALE)
    values: tuple[Float, ...] = ()
    hold_steps: Int = Field(1, ge=1, le=MAX_PROFILE_STEPS)
    amplitude: Float = Field(0.5, ge=0, le=1)
    period_steps: Int = Field(20, ge=1, le=MAX_PROFILE_STEPS)
    phase_rad: Float = Field(0.0, ge=-math.tau, le=math.tau)
    applies_to: Literal["rate", "active_ues"] = "rate"

    @model_validator(mode="after")
    def _check(self) -> "LoadProfile":
        if self.kind == "piecewise" and not self.values:
            raise ValueError("piecewise load profile needs a non-empty 'values' list")
        if any(not 0 <= v <= MAX_LOAD_SCALE for v in self.values):
            raise ValueError(f"load profile values must lie in [0, {MAX_LOAD_SCALE:g}]")
        if self.applies_to == "active_ues" and self.peak() > 1.0 + 1e-12:
            raise ValueError(f"applies_to: active_ues makes the profile a mask of the UEs offering traffic, so it "
                             f"must stay within [0, 1]; this {self.kind} profile reaches {self.peak():g} (lower "
                             f"scale/values/amplitude, or use applies_to: rate to scale each UE's rate)")
        return self

    def peak(self) -> float:
        """The largest multiplier the profile takes (before any per-cell scale)."""
        if self.kind == "piecewise":
            return max(self.values)
        return self.scale * (1.0 + self.amplitude) if self.kind == "sinusoid" else self.scale


class Sla(_Model):
    throughput_mbps: Float = Field(1.0, ge=0, le=MAX_RATE_MBPS, description="per-UE mean throughput target")
    delay_ms: Float = Field(50.0, ge=0.01, le=MAX_DURATION_MS, description="packet delay budget")


class Slice(_Model):
    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")
    kind: Literal["embb", "urllc", "mmtc", "volte", "video", "other"] = "other"
    ues_per_cell: Int = Field(ge=0, le=200)
    traffic: Traffic
    sla: Sla = Sla()
    load_profile: LoadProfile = LoadProfile()
    min_share: Float = Field(0.0, ge=0, lt=1)
    initial_share: Float | None = Field(None, ge=0, le=1)
    qci: Int | None = Field(None, ge=1, le=9, description="ns-3 bearer QCI; default by kind")

    @property
    def bearer_qci(self) -> int:
        return self.qci if self.qci is not None else DEFAULT_QCI[self.kind]


class SlaOverride(_Model):
    """Different SLA for one slice in some cells (e.g. TL-MADRL's two cell groups)."""

    cells: tuple[Int, ...] = Field(min_length=1)
    slice: str
    throughput_mbps: Float | None = Field(None, ge=0, le=MAX_RATE_MBPS)
    delay_ms: Float | None = Field(None, ge=0.01, le=MAX_DURATION_MS)


class Mobility(_Model):
    model: Literal["static", "random_walk"] = "static"
    speed_mps: Float = Field(0.0, ge=0, le=50)


MAX_COMPUTE_CYCLES_PER_S = 1e13  # an edge server of 10 THz-cycles: far beyond a real one
MAX_CYCLES_PER_BIT = 1e5


class Edge(_Model):
    """Edge computing per cell (FDRL's second resource; ``edge.about`` in contract.json).

    Every cell has an edge server of ``capacity_cycles_per_s``; a slice's delivered packets need
    ``cycles_per_bit[slice]`` cycles per bit there, served in the slice's processor-sharing queue at its
    compute share of the capacity (``work_conserving``: plus the share of the slices with nothing to
    process, in proportion to the shares). The packet's delay is the radio delay plus that sojourn. With an
    edge section the per-cell action holds 2·S shares: S bandwidth shares, then S compute shares."""

    capacity_cycles_per_s: Float = Field(gt=0, le=MAX_COMPUTE_CYCLES_PER_S, description="per cell")
    cycles_per_bit: tuple[Float, ...] = Field(min_length=1, description="one per slice")
    min_compute_share: tuple[Float, ...] = Field((), description="one per slice (empty = 0)")
    initial_compute_share: tuple[Float, ...] = Field((), description="one per slice, sum 1 (empty = equal split "
                                                                      "above the minimums)")
    work_conserving: bool = Field(False, description="lend the compute of idle slices to busy ones (by share); "
                                                     "false: strict shares")

    @model_validator(mode="after")
    def _check(self) -> "Edge":
        if any(not 0 <= v <= MAX_CYCLES_PER_BIT for v in self.cycles_per_bit):
            raise ValueError(f"cycles_per_bit values must lie in [0, {MAX_CYCLES_PER_BIT:g}]")
        if any(not 0 <= v < 1 for v in self.min_compute_share):
            raise ValueError("min_compute_share values must lie in [0, 1)")
        if sum(self.min_compute_share) > 1.0 + 1e-9:
            raise ValueError("the min_compute_share values sum to more than 1")
        if any(not 0 <= v <= 1 for v in self.initial_compute_share):
            raise ValueError("initial_compute_share values must lie in [0, 1]")
        if self.initial_compute_share and abs(sum(self.initial_compute_share) - 1.0) > 1e-6:
            raise ValueError("initial_compute_share values must sum to 1 when given")
        return self


class Control(_Model):
    decision_period_ms: Float = Field(100.0, ge=1, le=60000)
    episode_steps: Int = Field(50, ge=1, le=1_000_000)
    warmup_ms: Float = Field(0.0, ge=0, le=MAX_DURATION_MS)

    @model_validator(mode="after")
    def _warmup_periods(self) -> "Control":
        if self.warmup_ms > MAX_WARMUP_PERIODS * self.decision_period_ms:
            raise ValueError(f"warmup_ms may span at most {MAX_WARMUP_PERIODS} decision periods "
                             f"(<= {MAX_WARMUP_PERIODS * self.decision_period_ms:g} ms here)")
        return self


class Action(_Model):
    """How agents act. ``continuous``: a share vector per cell. ``discrete``: keep, or move
    ``delta`` of the PRBs from slice i to slice j. ``absolute``: the index of one split of the
    bandwidth into ``units`` equal grid units, every slice at least one unit (and at least its
    ``min_share``); C(units − 1, S − 1) actions without minimum shares. ``invalid``: what to do with
    an out-of-range continuous action (``project`` onto the feasible simplex or ``reject`` with an error).
    ``discrete_moves``: the move table; ``edge_moves`` and ``compute_delta``: how discrete moves cover the edge
    compute (bridge/actions.py)."""

    mode: Literal["continuous", "discrete", "absolute"] = "continuous"
    delta: Float = Field(0.1, gt=0, le=0.5)
    discrete_moves: Literal["pair", "updown"] = Field(
        "pair", description="discrete: move delta from one slice to another (pair: S(S−1) moves), or raise/lower "
                            "one slice by delta against the others (updown: 2S moves)")
    compute_delta: Float | None = Field(None, gt=0, le=0.5, description="discrete, with an edge section: the share "
                                                                      "of compute one move shifts (empty = delta)")
    edge_moves: Literal["either", "joint", "both"] = Field(
        "either", description="discrete, with an edge section, M moves per resource: one move shifts the bandwidth "
                              "or the compute (either: 1 + 2M actions), both alike (joint: 1 + M), or each action "
                              "is a bandwidth move and a compute move (both: (1 + M)²)")
    units: Int = Field(20, ge=2, le=1000, description="absolute: grid units of the bandwidth (20 = 1 MHz of 20 MHz)")
    work_conserving: bool = True
    invalid: Literal["project", "reject"] = "project"


class Observation(_Model):
    features: tuple[str, ...] = ("offered_mbps", "throughput_mbps", "delay_mean_ms", "active_ues", "share_assigned")
    neighbour_load: bool = False
    clip: Float = Field(10.0, gt=0, le=1e6, description="normalised features are clipped to [0, clip]")

    @model_validator(mode="after")
    def _check(self) -> "Observation":
        unknown = [f for f in self.features if f not in KPI_NAMES]
        if unknown:
            raise ValueError(f"unknown features {unknown}; allowed: {list(KPI_NAMES)}")
        if not self.features:
            raise ValueError("at least one feature is required")
        return self


class Reward(_Model):
    """Reward name and parameters (see bridge.reward for the formulas)."""

    name: Literal["min_satisfaction", "utility_cost", "sigmoid_utility", "se_ssr"] = "min_satisfaction"
    alpha: Float = Field(1.0, ge=0, le=1e6, description="utility_cost: weight of U; se_ssr: weight of SE")
    beta: Float = Field(0.5, ge=0, le=1e6, description="utility_cost: weight of C; se_ssr: weight of SSR")
    lam: Float = Field(1.0, ge=0, le=1e6, description="sigmoid_utility: Λ, weight of Ω")
    mu: Float = Field(1.0, ge=0, le=1e6, description="sigmoid_utility: μ, weight of Σ U_u")
    phi: Float = Field(1.0, gt=0, le=1e3, description="sigmoid_utility: steepness φ")
    se_norm_bps_hz: Float = Field(5.5547, ge=0.01, le=100, description="se_ssr: SE normaliser (LTE max)")


#: smallest litesim.se_scale / slice_efficiency value a scenario may give
LITESIM_MULTIPLIER_MIN = 1e-3


class LitesimParams(_Model):
    """litesim's free parameters (fitted against ns-3 traces by `slicebridge compare --calibrate`)."""

    scheduler_efficiency: Float = Field(0.75, gt=0, le=1.2, description="data bits per PRB vs Shannon-CQI SE")
    se_scale: tuple[Float, ...] = Field((), description="per-slice SE multiplier (empty = 1)")
    slice_efficiency: tuple[Float, ...] = Field(
        (), description="per-slice multiplier of data bits per PRB on top of scheduler_efficiency (empty = 1)"
    )
    base_delay_ms: Float = Field(0.0, ge=0, le=MAX_DURATION_MS, description="core/backhaul latency on top of litesim's "
                                 "LTE pipeline (the ns-3 program's S1-U/S5/SGi links have none)")
    slice_delay_ms: tuple[Float, ...] = Field(
        (), description="per-slice fixed latency on top of base_delay_ms (empty = 0): what a slice's packets wait at "
                        "light load beyond the shared latency (segmentation over small TBs, HARQ, turns in a narrow slice)"
    )
    buffer_bytes: Int = Field(102400, ge=1500, le=10**9, description="per-UE RLC transmission buffer")


class Scenario(_Model):
    name: str = "unnamed"
    description: str = ""
    seed: Int = Field(1, ge=0, lt=2**31)
    topology: Topology = Topology()
    radio: Radio = Radio()
    slices: tuple[Slice, ...] = Field(min_length=1, max_length=8)
    sla_overrides: tuple[SlaOverride, ...] = ()
    mobility: Mobility = Mobility()
    edge: Edge | None = None
    control: Control = Control()
    action: Action = Action()
    observation: Observation = Observation()
    reward: Reward = Reward()
    litesim: LitesimParams = LitesimParams()

    def absolute_min_units(self) -> tuple[int, ...]:
        """Absolute action mode: the fewest grid units of each slice, max(1, ⌈min_share · units⌉)."""
        units = self.action.units
        return tuple(max(1, math.ceil(s.min_share * units - 1e-9)) for s in self.slices)

    def _check_absolute_grid(self) -> None:
        free = self.action.units - sum(self.absolute_min_units())
        if free < 0:
            raise ValueError(f"action.units {self.action.units} cannot give every slice its minimum "
                             f"{self.absolute_min_units()} units; raise action.units")
        count = math.comb(free + len(self.slices) - 1, len(self.slices) - 1)
        if count > MAX_ABSOLUTE_ACTIONS:
            raise ValueError(f"action.units {self.action.units} gives {count} absolute splits of {len(self.slices)} "
                             f"slices (at most {MAX_ABSOLUTE_ACTIONS}); lower action.units")

    def _check_edge(self) -> None:
        edge, n = self.edge, self.n_slices
        for knob in ("cycles_per_bit", "min_compute_share", "initial_compute_share"):
            values = getattr(edge, knob)
            if values and len(values) != n:
                raise ValueError(f"edge.{knob} needs one value per slice ({n}: {list(self.slice_names)}), "
                                 f"got {len(values)}")
        if edge.initial_compute_share and edge.min_compute_share and any(
                v < m - 1e-9 for v, m in zip(edge.initial_compute_share, edge.min_compute_share)):
            raise ValueError("edge.initial_compute_share values must be at least the min_compute_share values")
        if self.action.mode == "absolute":
            raise ValueError("edge computing needs action.mode continuous or discrete (the absolute mode's "
                             "split table covers the bandwidth only)")

    @model_validator(mode="after")
    def _cross_checks(self) -> "Scenario":
        names = [s.name for s in self.slices]
        if len(set(names)) != len(names):
            raise ValueError(f"slice names must be unique, got {names}")
        if sum(s.min_share for s in self.slices) > 1.0 + 1e-9:
            raise ValueError("the slices' min_share values sum to more than 1")
        if sum(s.ues_per_cell for s in self.slices) == 0:
            raise ValueError("at least one slice needs ues_per_cell > 0")
        if self.action.mode == "absolute":
            self._check_absolute_grid()
        init = [s.initial_share for s in self.slices]
        if any(v is not None for v in init) and abs(sum(v or 0.0 for v in init) - 1.0) > 1e-6:
            raise ValueError("initial_share values must sum to 1 when given")
        for knob in ("se_scale", "slice_efficiency"):
            values = getattr(self.litesim, knob)
            if values and len(values) != len(self.slices):
                raise ValueError(f"litesim.{knob} needs one value per slice")
            # a multiplier far below the fitted range (±10 %) makes litesim's per-PRB rate so small that
            # demand / rate overflows float32 (1e-38 did: NaN KPIs); 0.001 already means a carrier carrying nothing
            if any(not LITESIM_MULTIPLIER_MIN <= v <= 10 for v in values):
                raise ValueError(f"litesim.{knob} values must lie in [{LITESIM_MULTIPLIER_MIN:g}, 10]")
        delays = self.litesim.slice_delay_ms
        if delays and (len(delays) != len(self.slices) or any(not 0 <= v <= MAX_DURATION_MS for v in delays)):
            raise ValueError(f"litesim.slice_delay_ms needs one value per slice, each in [0, {MAX_DURATION_MS:g}] ms")
        if self.edge is not None:
            self._check_edge()
        for i, o in enumerate(self.sla_overrides):
            if o.slice not in names:
                raise ValueError(f"sla_overrides[{i}].slice {o.slice!r} is not a slice; allowed: {names}")
            bad = [c for c in o.cells if not 0 <= c < self.topology.n_cells]
            if bad:
                raise ValueError(f"sla_overrides[{i}].cells {bad} out of range 0..{self.topology.n_cells - 1}")
        return self

    # -- derived views the simulators use -------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return self.topology.n_cells

    @property
    def n_slices(self) -> int:
        return len(self.slices)

    @property
    def slice_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slices)

    @property
    def ues_per_cell(self) -> int:
        return sum(s.ues_per_cell for s in self.slices)

    def cell_load(self) -> tuple[list[float], list[int]]:
        """Per-cell load settings ``(scale [C], shift_steps [C])``: cell c's multiplier of slice s at step k is
        ``scale[c] · profile_s(k + shift_steps[c])`` (``contract.cell_load_scale``)."""
        topo = self.topology
        return (list(topo.cell_load_scale) or [1.0] * self.n_cells,
                list(topo.cell_load_shift_steps) or [0] * self.n_cells)

    def ue_slice_index(self) -> list[int]:
        """Slice index of each UE of a cell, UEs ordered slice by slice (length ues_per_cell)."""
        return [i for i, s in enumerate(self.slices) for _ in range(s.ues_per_cell)]

    def sla_matrix(self) -> tuple[list[list[float]], list[list[float]]]:
        """Per-cell, per-slice SLA: (throughput Mbit/s per UE, delay budget ms), each [cells][slices]."""
        thr = [[s.sla.throughput_mbps for s in self.slices] for _ in range(self.n_cells)]
        dly = [[s.sla.delay_ms for s in self.slices] for _ in range(self.n_cells)]
        for o in self.sla_overrides:
            j = self.slice_names.index(o.slice)
            for c in o.cells:
                if o.throughput_mbps is not None:
                    thr[c][j] = o.throughput_mbps
                if o.delay_ms is not None:
                    dly[c][j] = o.delay_ms
        return thr, dly

    def initial_shares(self) -> list[float]:
        """Shares at reset: the configured initial_share, else equal shares lifted to the minimums."""
        if self.slices[0].initial_share is not None or any(s.initial_share is not None for s in self.slices):
            return [s.initial_share or 0.0 for s in self.slices]
        n = self.n_slices
        mins = [s.min_share for s in self.slices]
        free = 1.0 - sum(mins)
        return [m + free / n for m in mins]

    # -- shares: bandwidth, then (edge) compute -----------------------------------------------------
    @property
    def share_groups(self) -> int:
        """Share vectors per cell: 1 (bandwidth) or 2 (bandwidth, then compute, with an edge section)."""
        return 1 if self.edge is None else 2

    @property
    def share_width(self) -> int:
        """Length of a cell's share row: ``share_groups · n_slices``."""
        return self.share_groups * self.n_slices

    def min_compute_shares(self) -> list[float]:
        """Per-slice minimum compute shares (zeros without an edge section or minimums)."""
        return list(self.edge.min_compute_share) if self.edge and self.edge.min_compute_share else [0.0] * self.n_slices

    def initial_compute_shares(self) -> list[float]:
        """Compute shares at reset: the configured ones, else equal shares lifted to the minimums."""
        if self.edge is not None and self.edge.initial_compute_share:
            return list(self.edge.initial_compute_share)
        mins = self.min_compute_shares()
        free = 1.0 - sum(mins)
        return [m + free / self.n_slices for m in mins]

    def initial_share_row(self) -> list[float]:
        """A cell's share row at reset, ``[share_width]``: the bandwidth shares, then (edge) the compute shares."""
        return self.initial_shares() + (self.initial_compute_shares() if self.edge is not None else [])

    def with_updates(self, **changes: Any) -> "Scenario":
        """A validated copy with top-level fields replaced (nested dicts merge)."""
        data = self.model_dump(mode="json")
        _deep_merge(data, changes)
        return Scenario.from_dict(data, source=f"{self.name} (updated)")

    # -- loading ----------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "Scenario":
        """Validate a parsed scenario; ``source`` (a file name) starts every error message."""
        if data is None:
            raise ScenarioError(f"{source}: the scenario is empty; it needs at least a 'slices' list (see scenarios/tiny.yaml)")
        if not isinstance(data, dict):
            raise ScenarioError(f"{source}: <top>: the top level must be a mapping of fields "
                                f"(allowed: {sorted(cls.model_fields)}), got a {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(_format_errors(exc, source)) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> "Scenario":
        """Read and validate a UTF-8 YAML scenario file; any problem with it raises :class:`ScenarioError`."""
        path = Path(path)
        return cls.from_dict(_read_yaml(path), source=str(path))

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=1)


def _read_yaml(path: Path) -> Any:
    """The parsed content of the YAML file ``path``; every way of failing is a :class:`ScenarioError`."""
    if path.is_dir():
        raise ScenarioError(f"{path}: is a directory; give a scenario file (.yaml)")
    if not path.exists():
        raise ScenarioError(f"{path}: scenario file not found")
    if not path.is_file():
        raise ScenarioError(f"{path}: not a regular file; give a scenario file (.yaml)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is harmless
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}); "
                            f"scenario files must be saved as UTF-8") from None
    try:
        _check_nesting(text)
        return yaml.load(text, Loader=_StrictLoader)  # None for an empty file: Scenario.from_dict says so
    except _Refused as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None


# Limits of the YAML reader, far above what a scenario needs (its deepest field is 4 levels down).
MAX_YAML_DEPTH = 32
MAX_INT_DIGITS = 1000  # Python itself refuses over 4300; shorter out-of-range numbers get the field's range error


class _Refused(Exception):
    """A YAML document the scenario reader refuses; the message names the place (line, column)."""


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _check_nesting(text: str) -> None:
    """Refuse mappings/lists nested deeper than MAX_YAML_DEPTH before building anything.

    PyYAML's parser is iterative, but building the nested objects recurses once per level, so a
    file of 100,000 ``[`` would end in RecursionError; the event stream is walked flat instead.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _Refused(f"{_where(event.start_mark)}: nested too deeply (more than {MAX_YAML_DEPTH} levels of "
                               f"mappings or lists); a scenario needs at most a few")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping and integers of absurd length."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *anchor' may be overridden by the keys beside it
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # an unhashable key: SafeLoader's own error says so
                break
            if first is not key_node.start_mark:
                raise _Refused(f"{_where(key_node.start_mark)}: duplicate key {key!r} (first given at {_where(first)}); "
                               f"give each field once")
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise _Refused(f"{_where(node.start_mark)}: an integer of {digits} digits; no field takes more than "
                           f"{MAX_INT_DIGITS}")
        return super().construct_yaml_int(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
# YAML 1.2 floats: PyYAML (YAML 1.1) reads 2e9 and 1.0e9 as text (it wants 2.0e+9); an edge server's
# cycles per second are written that way
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))
_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_yaml_map)


def _deep_merge(base: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names allowed at the parent of ``loc`` (for 'extra field' errors)."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        model = _model_in(ann)
    return sorted(getattr(model, "model_fields", {}).keys()) if model is not None else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


MAX_ERROR_LINES = 20  # a list of 10 000 bad values is reported by its first errors, not 10 000 lines


def _format_errors(exc: ValidationError, source: str) -> str:
    """One line per violation: ``source: dotted.field[i].path: what is wrong / what is allowed``."""
    lines = []
    errors = exc.errors()
    for err in errors[:MAX_ERROR_LINES]:
        loc = tuple(p for p in err["loc"] if p not in TRAFFIC_MODELS)
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[") or "<top>"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown field; allowed: {_allowed_keys(loc)}"
        elif err["type"] == "union_tag_invalid":
            msg = f"unknown traffic model; allowed: {list(TRAFFIC_MODELS)}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"{source}: {path}: {msg}")
    if len(errors) > MAX_ERROR_LINES:
        lines.append(f"{source}: ... and {len(errors) - MAX_ERROR_LINES} more errors")
    return "\n".join(lines)


def load_scenario(path_or_name: str | Path) -> Scenario:
    """Load a scenario from a path, or by name from the shipped ``scenarios/`` folder."""
    path = Path(path_or_name)
    if not path.exists() and not path.suffix:
        shipped = scenarios_dir() / f"{path_or_name}.yaml"
        if not shipped.exists():
            names = sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
            raise ScenarioError(f"{path}: scenario file not found, nor a shipped scenario of that name; shipped: {names}")
        path = shipped
    return Scenario.from_yaml(path)


def scenarios_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "scenarios"
