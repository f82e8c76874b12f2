"""slicebridge: one RAN-slicing scenario contract, two simulators (ns-3 and litesim)."""

from slicebridge.bridge.kpi import KPI_NAMES, KPI_UNITS
from slicebridge.bridge.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["KPI_NAMES", "KPI_UNITS", "Scenario", "ScenarioError", "load_scenario"]
__version__ = "0.1.0"
