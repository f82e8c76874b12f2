"""The ``slicebridge`` command line: scenarios, train, eval, compare, bench."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slicebridge.agents.baselines import BASELINES
from slicebridge.agents.policy import load_policy
from slicebridge.agents.threads import configured_torch_threads, torch_threads
from slicebridge.agents.training import LITESIM_NUM_ENVS, ConfigChangedError, TrainConfig, throughput_settings, train
from slicebridge.app.compare import CompareConfig, run_compare
from slicebridge.app.evaluate import evaluate
from slicebridge.app.fidelity import FidelityConfig, run_fidelity
from slicebridge.app.fidelity import combine as combine_fidelity
from slicebridge.app.recipes import RECIPES
from slicebridge.app.recipes import main as recipes_main
from slicebridge.app.summary import format_kpi_table, summarise
from slicebridge.distributed.executor import Executor, MissingExtraError, TaskFailures, make_executor
from slicebridge.distributed.flower_cli import FlowerUsageError
from slicebridge.distributed.flower_cli import main as flower_main
from slicebridge.federation.params import DEFAULT_NORM_FACTOR
from slicebridge.bridge.actions import InvalidActionError
from slicebridge.bridge.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    scenarios_dir,
)
from slicebridge.litesim.memory import FIXED_BYTES, format_bytes, instance_bytes
from slicebridge.ns3.backend import memory_estimate_bytes, startup_estimate_s
from slicebridge.ns3.launcher import Ns3Error

EXIT_USAGE = 2


class CliError(Exception):
    """A misuse the user can fix; printed without a traceback, exit code 2."""


def _scenario(arg: str) -> Scenario:
    try:
        return load_scenario(arg)
    except ScenarioError as exc:
        raise CliError(str(exc)) from None


# ------------------------------------------------------------------------------------------------
def cmd_scenarios(args: argparse.Namespace) -> int:
    if args.action == "list":
        for path in sorted(scenarios_dir().glob("*.yaml")):
            s = Scenario.from_yaml(path)
            print(f"{path.stem:18s} {s.n_cells:3d} cells  {s.ues_per_cell:4d} UEs/cell  "
                  f"{s.n_slices} slices ({', '.join(s.slice_names)})  {s.description}")
        return 0
    if not args.files:
        raise CliError("scenarios validate: give at least one scenario file")
    bad = 0
    for f in args.files:
        try:
            s = load_scenario(f)
            print(f"ok    {f}: {s.n_cells} cells, {s.n_slices} slices, {s.ues_per_cell} UEs per cell; "
                  f"litesim ~{format_bytes(instance_bytes(s))} per instance (+{format_bytes(FIXED_BYTES)} shared); "
                  f"ns-3 ~{format_bytes(memory_estimate_bytes(s))} per process, start-up ~{startup_estimate_s(s):.2g} s")
        except ScenarioError as exc:
            bad += 1
            print(f"error {exc}", file=sys.stderr)
    return 1 if bad else 0


def cmd_eval(args: argparse.Namespace) -> int:

    scenario = _scenario(args.scenario)
    policy = _load_policy(args.policy, scenario)
    out = Path(args.out) if args.out else None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    with _executor(args) as executor:
        results = evaluate(scenario, policy, args.simulator, args.episodes, args.seed, out_csv=out,
                           progress=_progress(args.episodes, "episodes"), executor=executor)
    print(format_kpi_table(summarise(results, scenario), scenario, title=f"{getattr(policy, 'name', policy)} in {args.simulator}"))
    if out is not None:
        print(f"traces: {out}")
    return 0


def cmd_baselines(args: argparse.Namespace) -> int:
    """Every baseline on one scenario in one simulator: per-slice KPI tables."""

    scenario = _scenario(args.scenario)
    for name in sorted(BASELINES):
        results = evaluate(scenario, name, args.simulator, args.episodes, args.seed)
        print(format_kpi_table(summarise(results, scenario), scenario, title=f"baseline {name} in {args.simulator}"))
        print()
    return 0


def cmd_train(args: argparse.Namespace) -> int:

    scenario = _scenario(args.scenario)
    # issue 17: PPO on litesim runs many instances per step, batched (training.throughput_settings)
    settings = {"num_envs": TrainConfig.num_envs, **throughput_settings(args.simulator, args.algo)}
    if args.num_envs is not None:
        settings["num_envs"] = args.num_envs
    config = TrainConfig(
        scenario=scenario, simulator=args.simulator, algorithm=args.algo, mode=args.mode,
        strategy=args.strategy, total_steps=args.budget, seed=args.seed, run_dir=Path(args.out),
        resume=args.resume, **settings, **_federation_options(args),
    )
    try:
        result = train(config)
    except ConfigChangedError as exc:
        raise CliError(_explain_config_change("train", exc)) from None
    if result.resumed_round is not None:
        print(f"resumed from the checkpoint of round {result.resumed_round}")
    print(f"run directory: {result.run_dir}")
    return 0


#: the command-line flag that sets each TrainConfig field (for explaining a changed configuration)
_FLAG_OF = {"total_steps": "--budget", "num_envs": "--num-envs", "algorithm": "--algo", "mode": "--mode", "strategy": "--strategy",
            "seed": "--seed", "simulator": "--simulator", "max_update_norm": "--max-update-norm", "update_norm_factor": "--update-norm-factor",
            "fraction_fit": "--fraction-fit", "proximal_mu": "--proximal-mu", "strategy_kwargs": "--trim-fraction"}


def _explain_config_change(command: str, exc: ConfigChangedError) -> str:
    """The changed settings, by flag where there is one, and the three ways on."""
    lines = [f"{command}: {exc.checkpoint.parent.parent} holds a checkpoint ({exc.checkpoint.name}) of a run with other settings:"]
    for key, old, new in exc.changes:
        head = key.split(".")[0]
        name = f"{_FLAG_OF[head]} ({key})" if head in _FLAG_OF else ("the scenario file" if head == "scenario" else key) + f" ({key})"
        lines.append(f"  {name}: {old!r} in the checkpoint, {new!r} now")
    lines += ["Choose one:",
              "  - continue that run: repeat the command with the checkpoint's settings above;",
              "  - start afresh in this directory: add --no-resume (the old checkpoints are moved to checkpoints.previous);",
              "  - keep both: give this run another --out."]
    return "\n".join(lines)


def _federation_options(args: argparse.Namespace) -> dict:
    """TrainConfig fields from the federation flags of ``train`` (update bound, strategy options)."""
    if args.update_norm_factor is not None and args.update_norm_factor < 0:
        raise CliError(f"train: --update-norm-factor must be >= 0 (0 switches the adaptive bound off), got {args.update_norm_factor}")
    if args.max_update_norm is not None and not args.max_update_norm > 0:
        raise CliError(f"train: --max-update-norm must be > 0, got {args.max_update_norm}")
    options: dict = {"max_update_norm": args.max_update_norm, "fraction_fit": args.fraction_fit, "proximal_mu": args.proximal_mu,
                     "update_norm_factor": args.update_norm_factor or None}
    if args.strategy == "trimmed_mean":
        options["strategy_kwargs"] = {"trim_fraction": args.trim_fraction}
    return options


def cmd_compare(args: argparse.Namespace) -> int:

    scenario = _scenario(args.scenario)
    config = CompareConfig(
        scenario=scenario, out_dir=Path(args.out), budget_steps=args.budget, algorithm=args.algo,
        strategy=args.strategy, simulators=tuple(args.simulators.split(",")), episodes=args.episodes,
        seed=args.seed, calibrate=not args.no_calibrate, policy_dir=Path(args.policy) if args.policy else None,
        resume=args.resume,
    )
    try:
        with _executor(args) as config.executor:
            report = run_compare(config)
    except ConfigChangedError as exc:
        raise CliError(_explain_config_change("compare", exc)) from None
    print(f"report: {report}")
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    """litesim vs ns-3 over scenarios (issue 10): see slicebridge.app.fidelity."""
    if args.combine:
        command = " ".join(["slicebridge fidelity --combine", *args.combine, f"--out {args.out}"])
        results = combine_fidelity([Path(d) for d in args.combine], Path(args.out), command=command)
        print(f"matrix: {Path(args.out) / 'matrix.md'} ({len(results)} scenarios from {len(args.combine)} runs)")
        return 0
    specs = args.scenarios or sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
    for spec in specs:
        _scenario(spec)  # refuse a bad name before hours of simulation
    config = FidelityConfig(scenarios=specs, out_dir=Path(args.out), episodes=args.episodes, seed=args.seed,
                            include_random=not args.no_random, large_ues=args.large_ues, large_steps=args.large_steps,
                            large_episodes=args.large_episodes, warmup_ms=args.warmup_ms)
    command = " ".join(["slicebridge fidelity", *args.scenarios, f"--episodes {args.episodes}", f"--large-ues {args.large_ues}",
                        f"--large-steps {args.large_steps}", f"--large-episodes {args.large_episodes}",
                        *([f"--seed {args.seed}"] if args.seed is not None else []), *(["--no-random"] if args.no_random else []),
                        *([f"--warmup-ms {args.warmup_ms:g}"] if args.warmup_ms is not None else []),
                        f"--out {args.out}"])
    results = run_fidelity(config, command=command)
    print(f"matrix: {Path(args.out) / 'matrix.md'} ({len(results)} of {len(specs)} scenarios)")
    return 0 if len(results) == len(specs) else 1


def cmd_bench(args: argparse.Namespace) -> int:
    import runpy

    path = Path(__file__).resolve().parents[2] / "benchmarks" / f"bench_{args.which}.py"
    if not path.exists():
        raise CliError(f"bench: no benchmark {args.which!r} ({path} missing)")
    sys.argv = [str(path)] + args.rest
    runpy.run_path(str(path), run_name="__main__")
    return 0


def cmd_flower(args: argparse.Namespace) -> int:
    """Federation with each client a Flower process (docs/DISTRIBUTED.md)."""
    try:
        return flower_main(args.rest)
    except FlowerUsageError as exc:
        raise CliError(str(exc)) from None


def cmd_recipe(args: argparse.Namespace) -> int:

    return recipes_main([args.name, *args.rest])


# -- fan-out of evaluation runs (issue 16, docs/DISTRIBUTED.md) ---------------------------------------
class _executor:
    """``with _executor(args) as executor``: sequential, or Ray (local with --ray, a cluster with
    --ray-address); Ray is shut down and its temporary folder removed on the way out."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.executor: Executor | None = None

    def __enter__(self) -> Executor:
        a = self.args
        try:
            self.executor = make_executor(ray=a.ray, ray_address=a.ray_address, max_retries=a.ray_retries,
                                          task_timeout_s=a.ray_task_timeout)
        except MissingExtraError as exc:
            raise CliError(str(exc)) from None
        if self.executor.name != "sequential":
            print(f"evaluation runs fan out on Ray ({a.ray_address or 'local, 127.0.0.1'})", file=sys.stderr)
        return self.executor

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.close()


def _fan_out_options(q: argparse.ArgumentParser) -> None:
    g = q.add_argument_group("fan-out", "run the evaluation episodes as Ray tasks (optional extra slicebridge[distributed])")
    g.add_argument("--ray", action="store_true", help="fan out on a local Ray instance (this machine's cores)")
    g.add_argument("--ray-address", default=None, help="fan out on this Ray cluster (e.g. auto, HOST:6379 or ray://HOST:10001)")
    g.add_argument("--ray-retries", type=int, default=2, help="retries of a failed or hung run (default %(default)s)")
    g.add_argument("--ray-task-timeout", type=float, default=None, metavar="S",
                   help="a run taking longer than S seconds is cancelled and retried (default: no limit)")


def _load_policy(spec: str, scenario: Scenario):
    """``baseline:NAME``, ``random``, or a run directory written by ``train``."""
    if spec.startswith("baseline:"):

        name = spec.split(":", 1)[1]
        if name not in BASELINES:
            raise CliError(f"--policy {spec!r}: unknown baseline; allowed: {', '.join('baseline:' + b for b in sorted(BASELINES))}")
        return name
    if spec == "random":
        return spec
    path = Path(spec)
    if not path.exists():
        raise CliError(f"policy {spec!r}: not a baseline:NAME, 'random', or an existing run directory")

    return load_policy(path, scenario)


def _progress(total: int, unit: str):
    from tqdm import tqdm

    bar = tqdm(total=total, unit=unit, leave=False, disable=None)

    def update(done: int) -> None:
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


# ------------------------------------------------------------------------------------------------
RESUME_HELP = ("continue from the last complete round when the run directory holds a checkpoint of the same settings "
               "(default); --no-resume starts afresh and moves old checkpoints to checkpoints.previous")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slicebridge", description="Train RAN-slicing agents in litesim, evaluate them in ns-3, compare.")
    sub = p.add_subparsers(dest="command", required=True)

    sc = sub.add_parser("scenarios", help="list the shipped scenarios or validate scenario files")
    sc.add_argument("action", choices=["list", "validate"])
    sc.add_argument("files", nargs="*", help="scenario files (validate)")
    sc.set_defaults(func=cmd_scenarios)

    def common(q: argparse.ArgumentParser, simulator: bool = True) -> None:
        q.add_argument("scenario", help="scenario YAML file, or the name of a shipped scenario (e.g. default)")
        if simulator:
            q.add_argument("--simulator", choices=["litesim", "ns3"], default="litesim")
        q.add_argument("--seed", type=int, default=None, help="base seed (default: the scenario's)")

    ev = sub.add_parser("eval", help="run a policy or baseline and write KPI traces")
    common(ev)
    ev.add_argument("--policy", default="baseline:equal", help="baseline:NAME, random, or a run directory from train")
    ev.add_argument("--episodes", type=int, default=1)
    ev.add_argument("--out", help="CSV file for the KPI traces (appended per episode)")
    _fan_out_options(ev)
    ev.set_defaults(func=cmd_eval)

    bl = sub.add_parser("baselines", help="per-slice KPIs of every baseline on a scenario")
    common(bl)
    bl.add_argument("--episodes", type=int, default=1)
    bl.set_defaults(func=cmd_baselines)

    tr = sub.add_parser("train", help="train per-cell agents (centralised, independent or federated)")
    common(tr)
    tr.add_argument("--algo", choices=["ppo", "sac", "td3", "ddpg", "dqn"], default="ppo")
    tr.add_argument("--mode", choices=["federated", "independent", "centralised"], default="federated")
    tr.add_argument("--strategy", default="fedavg", help="federation strategy: fedavg, fedprox, success, uniform, median, trimmed_mean")
    tr.add_argument("--budget", type=int, default=20000, help="environment steps per cell")
    tr.add_argument("--num-envs", type=int, default=None,
                    help=f"scenario instances simulated side by side (ns-3: one process each; default {LITESIM_NUM_ENVS} "
                         f"for PPO on litesim, else {TrainConfig.num_envs})")
    tr.add_argument("--out", default="runs/train", help="run directory")
    tr.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True, help=RESUME_HELP)
    fed = tr.add_argument_group("federation", "how client updates are checked and combined (mode federated)")
    fed.add_argument("--max-update-norm", type=float, default=None,
                     help="fixed bound: reject a client update w_local - w_global whose L2 norm exceeds this (default: adaptive)")
    fed.add_argument("--update-norm-factor", type=float, default=DEFAULT_NORM_FACTOR,
                     help="adaptive bound when no fixed one is set: reject an update above this many times the round's "
                          "median update norm (default %(default)s; 0 switches it off)")
    fed.add_argument("--fraction-fit", type=float, default=TrainConfig.fraction_fit, help="share of clients trained per round")
    fed.add_argument("--proximal-mu", type=float, default=TrainConfig.proximal_mu, help="FedProx mu (strategy fedprox)")
    fed.add_argument("--trim-fraction", type=float, default=0.1,
                     help="trimmed_mean: share of values dropped at each end, rounded up (default %(default)s)")
    tr.set_defaults(func=cmd_train)

    cp = sub.add_parser("compare", help="train in litesim, evaluate policy and baselines in both simulators, write a report")
    common(cp, simulator=False)
    cp.add_argument("--simulators", default="litesim,ns3")
    cp.add_argument("--algo", choices=["ppo", "sac", "td3", "ddpg", "dqn"], default="ppo")
    cp.add_argument("--strategy", default="fedavg")
    cp.add_argument("--budget", type=int, default=50000, help="training steps per cell (0: baselines only)")
    cp.add_argument("--policy", help="evaluate this trained run directory instead of training")
    cp.add_argument("--episodes", type=int, default=6)
    cp.add_argument("--no-calibrate", action="store_true", help="skip fitting litesim to the ns-3 traces")
    cp.add_argument("--out", default="reports/compare", help="report directory")
    cp.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True, help=RESUME_HELP + " (the training in OUT/train)")
    _fan_out_options(cp)
    cp.set_defaults(func=cmd_compare)

    fi = sub.add_parser("fidelity", help="litesim vs ns-3 gap matrix over scenarios, before/after calibration (docs/FIDELITY.md)")
    fi.add_argument("scenarios", nargs="*", help="scenario names or YAML files (default: every shipped scenario)")
    fi.add_argument("--episodes", type=int, default=2, help="episodes per policy and simulator (default %(default)s)")
    fi.add_argument("--seed", type=int, default=None, help="first episode's seed (default: each scenario's own)")
    fi.add_argument("--no-random", action="store_true", help="leave the random policy out")
    fi.add_argument("--large-ues", type=int, default=100, help="more UEs than this in all: a short ns-3 window (default %(default)s)")
    fi.add_argument("--large-steps", type=int, default=3, help="decision periods of a large scenario (default %(default)s)")
    fi.add_argument("--large-episodes", type=int, default=1, help="episodes of a large scenario (default %(default)s)")
    fi.add_argument("--warmup-ms", type=float, default=None,
                    help="warm-up of every scenario in both simulators, ms (default: each scenario's control.warmup_ms)")
    fi.add_argument("--combine", nargs="+", metavar="DIR", default=None,
                    help="no simulation: merge the scenarios.json of these fidelity runs into one matrix in --out")
    fi.add_argument("--out", default="reports/fidelity", help="output directory")
    fi.set_defaults(func=cmd_fidelity)

    rc = sub.add_parser("recipe", help="reproduce a published system (see docs/recipes/); extra options go to the recipe")
    rc.add_argument("name", choices=sorted(RECIPES))
    rc.add_argument("rest", nargs=argparse.REMAINDER, help="recipe options, e.g. --out runs/fdrl --rounds 100")
    rc.set_defaults(func=cmd_recipe)

    fl = sub.add_parser("flower", help="federated training with every client on Flower: local | server | client (docs/DISTRIBUTED.md)",
                        add_help=False)
    fl.add_argument("rest", nargs=argparse.REMAINDER, help="local | server | client and their options (slicebridge flower -h)")
    fl.set_defaults(func=cmd_flower)

    bn = sub.add_parser("bench", help="run a benchmark from benchmarks/ (litesim, ns3, bridge)")
    bn.add_argument("which", choices=["litesim", "ns3", "bridge", "distributed"])
    bn.add_argument("rest", nargs=argparse.REMAINDER)
    bn.set_defaults(func=cmd_bench)
    return p


def _torch_threads() -> int:
    try:
        return configured_torch_threads()
    except ValueError as exc:
        raise CliError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    try:
        with torch_threads(_torch_threads()):
            return args.func(args)
    except (CliError, ScenarioError, InvalidActionError, FileNotFoundError) as exc:
        print(f"slicebridge: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TaskFailures as exc:  # runs that failed on every attempt; the others' traces are written
        print(f"slicebridge: {exc}", file=sys.stderr)
        return 1
    except Ns3Error as exc:  # also a missing build (Ns3BuildError) or a failed offline run
        print(f"slicebridge: ns-3 failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("slicebridge: interrupted; results written so far are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
