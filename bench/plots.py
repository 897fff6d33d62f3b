"""PNG plots for docs/benchmarks.md from the benchmarks' `--json` files.

    .venv/bin/python bench/plots.py [--e2e e2e.json] [--stages stages.json [more.json]] [--growth growth.json]
                                    [--out docs/img]

- `e2e_latency.png`: webhook-to-reply p50/p99 and acknowledgement p99 against the arrival rate,
  ours and the seed's design, per profile (from `bench/e2e_bench.py --json`);
- `stage_scaling.png`: events/s of each stage against its processes, one panel per run
  (`bench/stage_bench.py --json`);
- `stage_cpu.png`: CPU ms per event of each stage, one process (same file);
- `growth.png`: actions' CPU per event and memory against live conversations (`bench/growth_bench.py --json`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def e2e_latency(figures: dict[str, dict[str, list[dict[str, float]]]], out: Path) -> Path:
    fig, axes = plt.subplots(1, len(figures), figsize=(6 * len(figures), 4.2), squeeze=False)
    for ax, (profile, runs) in zip(axes[0], figures.items(), strict=True):
        for name, steps in runs.items():
            label = "seed" if name.startswith("seed") else "ours"
            rates = [s["rate"] for s in steps]
            ax.plot(rates, [s["reply_p99_ms"] for s in steps], marker="o", label=f"{label} reply p99")
            ax.plot(rates, [s["reply_p50_ms"] for s in steps], marker=".", linestyle="--", label=f"{label} reply p50")
            ax.plot(rates, [s["ack_p99_ms"] for s in steps], marker="x", linestyle=":", label=f"{label} ack p99")
        ax.set(title=f"profile {profile}", xlabel="arrival rate (messages/s)", ylabel="ms", yscale="log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return save(fig, out / "e2e_latency.png")


def stage_scaling(runs: list[dict[str, Any]], out: Path) -> list[Path]:
    """One panel per `stage_bench.py --json` file (its concurrency and API latency in the title);
    the CPU bars from the first file's one-process runs."""
    fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4.2), squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        stages: dict[str, list[dict[str, Any]]] = {}
        for row in run["results"]:
            stages.setdefault(row["stage"], []).append(row)
        for stage, rows in stages.items():
            ax.plot([r["processes"] for r in rows], [r["rate"] for r in rows], marker="o", label=stage)
        ax.set(title=f"{run['concurrency']} in flight per process, business API {run['business_api_latency_ms']:g} ms",
               xlabel="processes in the group", ylabel="events/s",
               xticks=sorted({r["processes"] for r in run["results"]}))
        ax.grid(True, alpha=0.3)
        ax.legend()
    scaling = save(fig, out / "stage_scaling.png")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    single = [r for r in runs[0]["results"] if r["processes"] == 1]
    ax.bar([r["stage"] for r in single], [r["cpu_ms"] for r in single])
    ax.set(title="CPU per event, one process per stage", ylabel="CPU ms / event")
    ax.grid(True, axis="y", alpha=0.3)
    return [scaling, save(fig, out / "stage_cpu.png")]


def growth(rows: list[dict[str, Any]], out: Path) -> Path:
    fig, left = plt.subplots(figsize=(6, 4.2))
    counts = [r["conversations"] for r in rows]
    left.plot(counts, [r["cpu_ms"] for r in rows], marker="o", color="tab:blue", label="CPU ms / event")
    left.set(xscale="log", xlabel="live conversations", ylabel="CPU ms / event", ylim=(0, None),
             title="actions with many live conversations")
    right = left.twinx()
    right.plot(counts, [r["rss_mb"] for r in rows], marker="s", color="tab:orange", label="memory (MB)")
    right.set(ylabel="resident memory (MB)", ylim=(0, None))
    fig.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
    left.grid(True, which="both", alpha=0.3)
    return save(fig, out / "growth.png")


def save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--e2e", type=Path)
    parser.add_argument("--stages", type=Path, nargs="+", help="One or more stage_bench.py --json files")
    parser.add_argument("--growth", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    if args.e2e:
        written.append(e2e_latency(json.loads(args.e2e.read_text()), args.out))
    if args.stages:
        written.extend(stage_scaling([json.loads(path.read_text()) for path in args.stages], args.out))
    if args.growth:
        written.append(growth(json.loads(args.growth.read_text()), args.out))
    if not written:
        parser.error("give at least one of --e2e, --stages, --growth")
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
