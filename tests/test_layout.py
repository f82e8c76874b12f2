# SPDX-License-Identifier: GPL-2.0-only
"""The UE drop both simulators share: shadowing per link or per site (``radio.propagation.shadowing_scope``)."""

from __future__ import annotations

import numpy as np

from slicebridge.bridge.layout import cell_layout, drop_ues, layout_rng
from slicebridge.bridge.scenario import load_scenario
from slicebridge.litesim.channel import link_gains_mw
from slicebridge.ns3.runtime import runtime_dict


def _own_cell_strongest(scenario, seeds) -> float:
    """Share of the UEs (over ``seeds``) whose own cell reaches them with the most power."""
    layout = cell_layout(scenario)
    hits = total = 0
    for seed in seeds:
        drop = drop_ues(scenario, layout_rng(seed))
        rx = link_gains_mw(scenario, drop.ue_xy_m[0], drop.shadowing_db[0], layout.cell_xy_m, layout.cell_azimuth_deg)
        best = rx.argmax(-1)  # [C, U]
        hits += int((best == np.arange(scenario.n_cells)[:, None]).sum())
        total += best.size
    return hits / total


def test_site_scope_shares_one_draw_among_co_sited_sectors() -> None:
    """3 sectors of one site: with ``site`` every UE's three links carry one shadowing value, so the
    sector antenna alone decides which cell is strongest, and a UE dropped in its sector's 120°
    wedge always has its own cell strongest (the pattern is symmetric about the wedge borders). With
    independent draws per link (4 dB each) a few per cent of the UEs are shadowed below a co-sited
    neighbour: served by a cell that is not their best, at SINR below 0 dB."""
    site = load_scenario("default").with_updates(radio={"propagation": {"shadowing_std_db": 4.0, "shadowing_scope": "site"}})
    link = site.with_updates(radio={"propagation": {"shadowing_std_db": 4.0, "shadowing_scope": "link"}})
    drop = drop_ues(site, layout_rng(5), batch=2)
    assert drop.shadowing_db.shape == (2, 3, site.ues_per_cell, 3)
    assert np.all(drop.shadowing_db == drop.shadowing_db[..., :1]) and drop.shadowing_db.std() > 1.0
    seeds = range(20)
    assert _own_cell_strongest(site, seeds) == 1.0
    assert _own_cell_strongest(link, seeds) < 0.97


def test_site_scope_keeps_sites_independent_and_reaches_ns3() -> None:
    """With several sites the draw is per site: equal on one site's sectors, different across sites;
    ns-3 receives exactly the drop litesim uses (the runtime JSON carries one value per cell)."""
    sc = load_scenario("default").with_updates(
        topology={"sites": 2, "cell_load_shift_steps": []}, radio={"propagation": {"shadowing_std_db": 6.0, "shadowing_scope": "site"}})
    drop = drop_ues(sc, layout_rng(11))
    sh = drop.shadowing_db[0]  # [C, U, C'], cells 0-2 on site 0, 3-5 on site 1
    assert np.all(sh[..., 0:3] == sh[..., :1]) and np.all(sh[..., 3:6] == sh[..., 3:4])
    assert not np.allclose(sh[..., 0], sh[..., 3])
    ues = runtime_dict(sc, seed=11)["ues"]
    sent = np.array([u["shadowing_db"] for u in ues]).reshape(sh.shape)
    assert np.array_equal(sent, sh)
