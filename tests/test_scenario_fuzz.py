# SPDX-License-Identifier: GPL-2.0-only
"""Property tests of the scenario loader over generated files (Hypothesis).

Every generated file starts from one of the shipped scenarios and is damaged on purpose: fields
replaced by values of the wrong type or out of range (huge, negative, tiny, non-finite), fields
deleted or added, the YAML text cut or sprinkled with random bytes, or the file written in an
encoding other than UTF-8. Two properties must hold for every file:

1. Loading it either succeeds or raises :class:`ScenarioError` whose message names the file; no
   other exception type escapes (so the CLI never shows a traceback).
2. A file that loads is runnable: litesim, stepped a few decision periods with feasible shares, gives
   finite KPIs and finite rewards (large scenarios are first cut to a few cells and UEs, numbers kept).
"""

from __future__ import annotations

import copy
import math
import typing
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from slicebridge.bridge.reward import RewardFunction
from slicebridge.bridge.scenario import LTE_BANDWIDTHS_PRB, Scenario, ScenarioError, scenarios_dir
from slicebridge.litesim import LiteSim

SHIPPED = {p.stem: p.read_text(encoding="utf-8") for p in sorted(scenarios_dir().glob("*.yaml"))}
# Valid scenarios with more UEs in all cells or more warm-up periods than this are cut to size before
# litesim steps them (see _cut_to_size), to keep the test fast.
MAX_UES_STEPPED = 400
MAX_WARMUP_PERIODS = 5
STEPS = 3

# Values a field must survive: wrong types, out-of-range and non-finite numbers, odd strings.
JUNK_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 1e38, 3.5e38, math.inf, -math.inf, math.nan]),
    st.text(max_size=12),
    st.sampled_from([".inf", "-.inf", ".nan", "nan", "1e999", "0x10", "1_000", "yes", "", " ", "é", "\x00"]),
)
JUNK = st.one_of(
    JUNK_SCALARS,
    st.lists(JUNK_SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=6), JUNK_SCALARS, max_size=2),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a parsed YAML tree (mappings and lists), the root excluded."""
    out: list[tuple] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out.append(prefix + (key,))
        out.extend(_paths(child, prefix + (key,)))
    return out


def _parent(tree: Any, path: tuple) -> Any:
    for key in path[:-1]:
        tree = tree[key]
    return tree


@st.composite
def mutated_trees(draw: st.DrawFn) -> Any:
    """A shipped scenario's parsed tree with 1-4 random replacements, deletions or additions."""
    tree = copy.deepcopy(yaml.safe_load(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))]))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(tree)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _parent(tree, path)
        op = draw(st.sampled_from(["replace", "replace", "scale", "delete", "add"]))
        if op == "replace":
            parent[path[-1]] = draw(JUNK)
        elif op == "scale" and isinstance(parent[path[-1]], (int, float)) and not isinstance(parent[path[-1]], bool):
            # numbers near or beyond a field's range: the same magnitude with another sign or exponent
            factor = draw(st.sampled_from([-1, 0, 1e-9, 0.5, 2, 10, 1e3, 1e9, 1e30]))
            if abs(parent[path[-1]]) < 1e300:  # an earlier replacement may have put 10**400 there
                parent[path[-1]] = parent[path[-1]] * factor
        elif op == "delete":
            del parent[path[-1]]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
    return tree


def _bounds(field: Any) -> tuple[float | None, float | None, bool]:
    """The (low, high) limits a pydantic field declares, and whether any of them is strict."""
    low = high = None
    strict = False
    for meta in field.metadata:
        strict = strict or hasattr(meta, "gt") or hasattr(meta, "lt")
        low = getattr(meta, "ge", getattr(meta, "gt", low))
        high = getattr(meta, "le", getattr(meta, "lt", high))
    return low, high, strict


def _number_type(annotation: Any) -> type | None:
    """int or float when ``annotation`` is a (possibly optional, annotated) number, else None."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Union else (annotation,)
    for arg in options:
        base = typing.get_args(arg)[0] if typing.get_origin(arg) is typing.Annotated else arg
        if base in (int, float):
            return base
    return None


def _edge_number(draw: st.DrawFn, kind: type, low: float | None, high: float | None, strict: bool = False) -> float | int:
    """A number inside (or, for a strict limit, sometimes on) the declared range, most often at its ends."""
    low = -1e6 if low is None else low
    high = 1e9 if high is None else high
    if kind is int:
        low, high = math.ceil(low), math.floor(high)
        return draw(st.one_of(st.sampled_from([low, high, min(low + 1, high)]), st.integers(low, high)))
    tiny = draw(st.sampled_from([1e-9, 1e-6] + ([] if strict else [0.0])))
    return draw(st.one_of(st.sampled_from([low + tiny, high - tiny]), st.floats(low, high)))


def _push_to_edges(draw: st.DrawFn, model: type[BaseModel], node: dict) -> None:
    """Set some numeric fields of ``node`` (present or not) to in-range edge values, recursively."""
    for name, field in model.model_fields.items():
        ann = field.annotation
        kind = _number_type(ann)
        if name == "traffic" and isinstance(node.get(name), dict):
            traffic_models = {typing.get_args(m.model_fields["model"].annotation)[0]: m for m in typing.get_args(ann)}
            if node[name].get("model") in traffic_models:
                _push_to_edges(draw, traffic_models[node[name]["model"]], node[name])
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            if name in node or draw(st.booleans()):
                node[name] = node.get(name) if isinstance(node.get(name), dict) else {}
                _push_to_edges(draw, ann, node[name])
        elif typing.get_origin(ann) is tuple and isinstance(node.get(name), list):
            item = typing.get_args(ann)[0]
            if isinstance(item, type) and issubclass(item, BaseModel):
                for child in node[name]:
                    _push_to_edges(draw, item, child)
        elif typing.get_origin(ann) is Literal and draw(st.integers(0, 9)) == 0:
            node[name] = draw(st.sampled_from(typing.get_args(ann)))
        elif name == "bandwidth_prb" and draw(st.integers(0, 4)) == 0:
            node[name] = draw(st.sampled_from(LTE_BANDWIDTHS_PRB))  # the LTE rule allows only these
        elif kind is not None and draw(st.integers(0, 4)) == 0:
            node[name] = _edge_number(draw, kind, *_bounds(field))
        elif typing.get_origin(ann) is tuple and _number_type(typing.get_args(ann)[0]) and draw(st.integers(0, 9)) == 0:
            node[name] = [_edge_number(draw, float, 0.0, 100.0) for _ in range(draw(st.integers(1, 3)))]


@st.composite
def in_range_trees(draw: st.DrawFn) -> Any:
    """A shipped scenario with numbers pushed to the ends of their declared ranges (often valid)."""
    tree = copy.deepcopy(yaml.safe_load(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))]))
    _push_to_edges(draw, Scenario, tree)
    return tree


def _dump(tree: Any) -> bytes:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False).encode("utf-8")


@st.composite
def damaged_bytes(draw: st.DrawFn) -> bytes:
    """A shipped file's bytes cut, overwritten with random bytes, or re-encoded (not UTF-8)."""
    text = SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))]
    op = draw(st.sampled_from(["truncate", "splice", "encode", "junk"]))
    data = text.encode("utf-8")
    if op == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if op == "splice":
        at = draw(st.integers(0, len(data)))
        cut = draw(st.integers(0, 16))
        return data[:at] + draw(st.binary(max_size=16)) + data[at + cut :]
    if op == "encode":
        # a non-ASCII description makes the encodings differ from UTF-8 (latin-1's é is byte 0xE9)
        text = text.replace("description:", "description: Café Übersicht µs —", 1)
        codec = draw(st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-32"]))
        return text.encode(codec, errors="replace")
    return draw(st.binary(max_size=256))


SCENARIO_FILES = st.one_of(mutated_trees().map(_dump), in_range_trees().map(_dump), damaged_bytes())


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scenario-fuzz")


def _load(path: Path) -> Scenario | None:
    """The loaded scenario, or None after checking the ScenarioError names the file."""
    try:
        return Scenario.from_yaml(path)
    except ScenarioError as err:
        message = str(err)
        assert str(path) in message, message
        return None


def _assert_runs_finite(scenario: Scenario, shares_seed: int) -> None:
    """Step litesim a few periods (initial shares, then random feasible shares): KPIs and rewards finite.
    LTE and NR scenarios alike (litesim's NR twin: litesim.air)."""
    sim = LiteSim(scenario, num_envs=1)
    reward = RewardFunction(scenario)
    try:
        kpis = sim.reset()
        assert np.isfinite(kpis).all(), f"non-finite KPIs at reset: {kpis}"
        rng = np.random.default_rng(shares_seed)
        shares = np.broadcast_to(np.asarray(scenario.initial_shares()), (1, scenario.n_cells, scenario.n_slices))
        for _ in range(STEPS):
            kpis = sim.step(shares)
            assert np.isfinite(kpis).all(), f"non-finite KPIs: {kpis}"
            assert np.isfinite(reward(kpis)).all(), f"non-finite reward from KPIs {kpis}"
            shares = rng.dirichlet(np.ones(scenario.n_slices), size=(1, scenario.n_cells))
    finally:
        sim.close()


def _small(scenario: Scenario) -> bool:
    warmup = math.ceil(scenario.control.warmup_ms / scenario.control.decision_period_ms)
    return scenario.n_cells * scenario.ues_per_cell <= MAX_UES_STEPPED and warmup <= MAX_WARMUP_PERIODS


def _cut_to_size(scenario: Scenario) -> Scenario:
    """``scenario`` itself when it is small, else the same numbers on one site with at most 20 UEs per
    slice and a short warm-up, so that every valid file is stepped (a cut scenario must stay valid)."""
    if _small(scenario):
        return scenario
    data = scenario.model_dump(mode="json")
    data["topology"]["sites"] = 1
    n_cells = data["topology"]["sectors"]
    for per_cell in ("cell_load_scale", "cell_load_shift_steps"):  # one value per cell: the first cells'
        data["topology"][per_cell] = data["topology"][per_cell][:n_cells]
    for sl in data["slices"]:
        sl["ues_per_cell"] = min(sl["ues_per_cell"], 20)
    overrides = [dict(o, cells=[c for c in o["cells"] if c < n_cells]) for o in data["sla_overrides"]]
    data["sla_overrides"] = [o for o in overrides if o["cells"]]
    control = data["control"]
    control["warmup_ms"] = min(control["warmup_ms"], MAX_WARMUP_PERIODS * control["decision_period_ms"])
    return Scenario.from_dict(data, source="<cut to size>")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=SCENARIO_FILES, shares_seed=st.integers(0, 2**16))
def test_any_file_loads_or_gives_one_scenario_error(fuzz_dir: Path, data: bytes, shares_seed: int) -> None:
    path = fuzz_dir / "generated.yaml"
    path.write_bytes(data)
    scenario = _load(path)
    event("rejected" if scenario is None else "stepped" if _small(scenario) else "stepped, cut to size")
    if scenario is not None:
        _assert_runs_finite(_cut_to_size(scenario), shares_seed)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=st.one_of(mutated_trees(), in_range_trees()), shares_seed=st.integers(0, 2**16))
def test_dict_mutations_validate_or_raise_scenario_error(tree: Any, shares_seed: int) -> None:
    """The same property through ``Scenario.from_dict`` (values YAML cannot spell, e.g. NaN in a list)."""
    try:
        scenario = Scenario.from_dict(tree, source="<fuzz>")
    except ScenarioError as err:
        assert str(err).startswith("<fuzz>"), str(err)
        event("rejected")
        return
    event("stepped" if _small(scenario) else "stepped, cut to size")
    _assert_runs_finite(_cut_to_size(scenario), shares_seed)
