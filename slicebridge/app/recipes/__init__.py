# SPDX-License-Identifier: GPL-2.0-only
"""Runnable recipes reproducing the research systems (docs/RESEARCH.md): one command, one table.

``slicebridge recipe NAME [options]`` (or ``run_recipe(NAME, **config)``). Each recipe is one module
here with ``NAME``, ``add_arguments(parser)`` for its own options and ``run(**config) -> str`` (its
Markdown table); adding a recipe is a new module and one entry in :data:`RECIPES`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import ModuleType
from typing import Any

from slicebridge.agents.threads import configured_torch_threads, torch_threads
from slicebridge.app.recipes import dt_drl, dt_mafl, fdrl, mfrl, tl_madrl
from slicebridge.app.recipes.fdrl import FdrlConfig, run_fdrl
from slicebridge.app.recipes.tl_madrl import TlMadrlConfig, run_tl_madrl

RECIPES: dict[str, ModuleType] = {m.NAME: m for m in (dt_drl, dt_mafl, fdrl, mfrl, tl_madrl)}
# options main() maps itself; every other non-None option goes to the recipe config under its own name
COMMON_OPTIONS = ("out", "methods", "no_progress", "reuse")

__all__ = ["RECIPES", "FdrlConfig", "TlMadrlConfig", "main", "run_fdrl", "run_recipe", "run_tl_madrl"]


def run_recipe(name: str, **kwargs: Any) -> str:
    """Run recipe ``name`` with config keyword overrides (its ``...Config`` fields); returns its Markdown table."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; allowed: {sorted(RECIPES)}")
    return RECIPES[name].run(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slicebridge recipe", description="Reproduce a research system (docs/RESEARCH.md).")
    sub = p.add_subparsers(dest="recipe", required=True, metavar="RECIPE")
    for name, module in RECIPES.items():
        rp = sub.add_parser(name, help=(module.__doc__ or "").splitlines()[0])
        rp.add_argument("--out", help="output directory (runs, NAME.md table); default runs/NAME")
        rp.add_argument("--num-envs", type=int)
        rp.add_argument("--seed", type=int)
        rp.add_argument("--methods", help="comma-separated subset of the recipe's methods")
        rp.add_argument("--no-progress", action="store_true")
        rp.add_argument("--reuse", action="store_true", help="reuse finished runs found in --out (re-evaluate, rebuild the table)")
        module.add_arguments(rp)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    kw: dict[str, Any] = {"out_dir": Path(args.out or f"runs/{args.recipe}"), "progress": not args.no_progress, "reuse": args.reuse}
    if args.methods:
        kw["methods"] = tuple(args.methods.split(","))
    for dest, value in vars(args).items():
        if dest not in (*COMMON_OPTIONS, "recipe") and value is not None:
            kw[dest] = value
    with torch_threads(configured_torch_threads()):  # small networks: more threads only contend
        print(run_recipe(args.recipe, **kw))
    return 0
