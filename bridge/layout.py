"""Geometry shared by both simulators: hexagonal sites, sector cells, UE drops and shadowing.

Python draws the layout once per seed and hands it to ns-3 in the runtime JSON, so that litesim and
ns-3 place the same UEs at the same spots with the same shadowing for the same seed.
Cells are numbered site-major: ``cell = site * sectors + sector``; sector azimuths are 0°, 120°,
240° (counter-clockwise from the x axis, the ns-3 antenna convention). A cell's UEs are ordered
slice by slice (see ``Scenario.ue_slice_index``) and stay attached to that cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from slicebridge.bridge.scenario import Scenario


@dataclass(frozen=True)
class CellLayout:
    site_xy_m: np.ndarray  # [sites, 2]
    cell_site: np.ndarray  # [cells] site index of each cell
    cell_azimuth_deg: np.ndarray  # [cells]; NaN for omni cells

    @property
    def cell_xy_m(self) -> np.ndarray:
        """[cells, 2] position of each cell's antenna (its site)."""
        return self.site_xy_m[self.cell_site]


@dataclass(frozen=True)
class UeDrop:
    ue_xy_m: np.ndarray  # [batch, cells, ues, 2]
    shadowing_db: np.ndarray  # [batch, cells, ues, cells]: extra loss of each UE's link to each cell


def hex_sites(n_sites: int, isd_m: float) -> np.ndarray:
    """Centres of ``n_sites`` hexagonal sites, ring by ring around the origin, [n_sites, 2] m."""
    axial = [(0, 0)]
    ring = 1
    directions = [(1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1)]
    while len(axial) < n_sites:
        q, r = -ring, ring  # start corner, then walk the six sides
        for dq, dr in directions:
            for _ in range(ring):
                axial.append((q, r))
                q, r = q + dq, r + dr
        ring += 1
    qr = np.array(axial[:n_sites], dtype=float)
    x = isd_m * (qr[:, 0] + qr[:, 1] / 2.0)
    y = isd_m * (np.sqrt(3.0) / 2.0) * qr[:, 1]
    return np.stack([x, y], axis=1)


def cell_layout(scenario: Scenario) -> CellLayout:
    topo = scenario.topology
    sites = hex_sites(topo.sites, topo.inter_site_distance_m)
    cell_site = np.repeat(np.arange(topo.sites), topo.sectors)
    if topo.sectors == 1:
        az = np.full(topo.n_cells, np.nan)
    else:
        az = np.tile(np.array([0.0, 120.0, 240.0]), topo.sites)
    return CellLayout(sites, cell_site, az)


def drop_ues(scenario: Scenario, rng: np.random.Generator, batch: int = 1) -> UeDrop:
    """Uniform UE drop in each cell's area (disc, or 120° wedge for sectors), plus shadowing per link or per site
    (``radio.propagation.shadowing_scope``)."""
    layout = cell_layout(scenario)
    topo = scenario.topology
    n_cells, n_ues = scenario.n_cells, scenario.ues_per_cell
    r_min, r_max = topo.min_ue_distance_m, max(topo.drop_radius_m, topo.min_ue_distance_m + 1.0)
    u = rng.random((batch, n_cells, n_ues))
    radius = np.sqrt(u * (r_max**2 - r_min**2) + r_min**2)
    if topo.sectors == 1:
        angle = rng.uniform(0.0, 2 * np.pi, (batch, n_cells, n_ues))
    else:
        centre = np.deg2rad(layout.cell_azimuth_deg)[None, :, None]
        angle = centre + rng.uniform(-np.pi / 3, np.pi / 3, (batch, n_cells, n_ues))
    xy = layout.cell_xy_m[None, :, None, :] + np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)
    prop = scenario.radio.propagation
    if prop.shadowing_std_db <= 0:
        return UeDrop(xy, np.zeros((batch, n_cells, n_ues, n_cells)))
    if prop.shadowing_scope == "site":  # one draw per site, the same on each of its sectors' links
        per_site = rng.normal(0.0, prop.shadowing_std_db, (batch, n_cells, n_ues, topo.sites))
        return UeDrop(xy, per_site[..., layout.cell_site])
    return UeDrop(xy, rng.normal(0.0, prop.shadowing_std_db, (batch, n_cells, n_ues, n_cells)))


def layout_rng(seed: int) -> np.random.Generator:
    """The generator that draws the layout for ``seed`` (same stream in both simulators)."""
    return np.random.default_rng([seed, 0x5B1DE])
