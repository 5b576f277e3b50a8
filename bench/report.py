"""A bench run's summary: medians, medians of per-round ratios, the goals of issue 20, the
Markdown table and the JSON results file."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# per client, per metric: one value per round, in round order
Metrics = dict[str, list[float]]

OURS, SAME, DEFAULT = "tunnelkeeper", "openssh_same", "openssh_default"


def labels(args: Any) -> dict[str, tuple[str, str]]:
    """Metric key → (label, unit), in table order; sizes and counts from the run's options."""
    found = {
        "to_vendor_MBps": ("bulk target→vendor", "MB/s"),
        "to_target_MBps": ("bulk vendor→target", "MB/s"),
        "cpu_to_vendor_s_per_gib": ("client CPU, bulk target→vendor", "s/GiB"),
        "cpu_to_target_s_per_gib": ("client CPU, bulk vendor→target", "s/GiB"),
        "rtt_p50_us": ("64-byte round trip p50", "µs"),
        "rtt_p99_us": ("64-byte round trip p99", "µs"),
        "connect_p50_ms": ("connect + first byte p50", "ms"),
        "connect_p99_ms": ("connect + first byte p99", "ms"),
        "concurrent_errors": (f"{args.concurrent} concurrent, 64 KiB echo each: errors", "count"),
        "concurrent_wall_s": (f"{args.concurrent} concurrent, 64 KiB echo each: wall", "s"),
        "burst_errors": (f"{args.burst_rate} new conn/s for {args.burst_seconds:g} s: errors",
                         "count"),
        "burst_setup_p99_ms": (
            f"{args.burst_rate} new conn/s for {args.burst_seconds:g} s: setup p99", "ms"),
        "idle_cpu_pct": (f"idle {args.idle:g} s, headless: CPU", "%"),
        "idle_rss_mib": ("RSS at rest (started, before any load)", "MiB"),
        "conn_slope_kib": ("memory per idle forwarded connection (slope)", "KiB"),
    }  # fmt: skip
    for level in args.conn_levels:
        found[f"rss_{level}_conns_mib"] = (f"RSS with {level:,} idle connections", "MiB")
    found["conn_errors"] = ("idle connections that failed to open", "count")
    found["rss_after_mib"] = ("RSS after the round's load", "MiB")
    found["start_to_forward_ms"] = ("process start → forward granted", "ms")
    return found


def ratio_median(ours: list[float], theirs: list[float]) -> float:
    """Median of the per-round ratios ours / theirs (rounds where either is unknown or
    theirs is 0 left out); NaN if none is left."""
    ratios = [a / b for a, b in zip(ours, theirs, strict=False) if b and _known(a) and _known(b)]
    return statistics.median(ratios) if ratios else float("nan")


def _known(value: float) -> bool:
    return not math.isnan(value)


def _median(values: list[float]) -> float:
    known = [v for v in values if _known(v)]
    return statistics.median(known) if known else float("nan")


@dataclass
class Row:
    key: str
    label: str
    unit: str
    ours: float
    same: float
    same_ratio: float
    default: float
    default_ratio: float


def summarize(results: dict[str, Metrics], args: Any) -> list[Row]:
    rows = []
    for key, (label, unit) in labels(args).items():
        if key not in results[OURS]:
            continue  # skipped with its option
        ours = results[OURS][key]
        same, default = results[SAME].get(key, []), results[DEFAULT].get(key, [])
        rows.append(Row(
            key, label, unit, _median(ours), _median(same), ratio_median(ours, same),
            _median(default), ratio_median(ours, default),
        ))  # fmt: skip
    for key, values in results.get("gui", {}).items():
        label, unit = labels(args)[key]
        label = label.replace("headless", "desktop app").replace("started", "desktop app")
        rows.append(Row(f"gui_{key}", label, unit, _median(values), *[float("nan")] * 4))
    return rows


# (what, metric, against, at most (True) or at least (False), bar); against OURS is the figure
GOALS = [
    ("throughput target→vendor ≥ 1.0x same cipher", "to_vendor_MBps", SAME, False, 1.0),
    ("throughput vendor→target ≥ 1.0x same cipher", "to_target_MBps", SAME, False, 1.0),
    ("client CPU/GiB target→vendor ≤ 1.0x same cipher", "cpu_to_vendor_s_per_gib", SAME, True, 1.0),
    ("client CPU/GiB vendor→target ≤ 1.0x same cipher", "cpu_to_target_s_per_gib", SAME, True, 1.0),
    ("round trip p50 ≤ 1.1x OpenSSH default", "rtt_p50_us", DEFAULT, True, 1.1),
    ("round trip p99 ≤ 1.0x OpenSSH default", "rtt_p99_us", DEFAULT, True, 1.0),
    ("idle RSS ≤ 32 MiB", "idle_rss_mib", OURS, True, 32.0),
    ("start → forward granted ≤ 1.0x same cipher", "start_to_forward_ms", SAME, True, 1.0),
    ("start → forward granted ≤ 1.0x OpenSSH default", "start_to_forward_ms", DEFAULT, True, 1.0),
    ("memory per idle forwarded connection ≤ 64 KiB", "conn_slope_kib", OURS, True, 64.0),
]


def goals(rows: list[Row]) -> list[dict[str, Any]]:
    """Each goal of issue 20 whose metric was measured: the figure and whether it is met."""
    by_key = {row.key: row for row in rows}
    found = []
    for what, key, against, at_most, bar in GOALS:
        if key not in by_key:
            continue
        row = by_key[key]
        value = {OURS: row.ours, SAME: row.same_ratio, DEFAULT: row.default_ratio}[against]
        met = _known(value) and (value <= bar if at_most else value >= bar)
        found.append({"goal": what, "value": value, "met": met})
    return found


def _figure(value: float, unit: str) -> str:
    if not _known(value):
        return "—"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}" if _known(value) else "—"


def markdown(rows: list[Row], met: list[dict[str, Any]], negotiated: dict[str, str]) -> str:
    """The table the README and docs/benchmarks.md show, the goals and the algorithms."""
    lines = [
        "| metric | unit | Tunnelkeeper | OpenSSH same cipher | ratio | OpenSSH default | ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r.label} | {r.unit} | {_figure(r.ours, r.unit)} | {_figure(r.same, r.unit)} | "
        f"{_ratio(r.same_ratio)} | {_figure(r.default, r.unit)} | {_ratio(r.default_ratio)} |"
        for r in rows
    ]
    lines += ["", "Ratios: Tunnelkeeper / OpenSSH, the median of each round's own ratio.", ""]
    lines += [f"- [{'x' if g['met'] else ' '}] {g['goal']}: {_ratio(g['value'])}" for g in met]
    lines += ["", "Negotiated:"]
    lines += [f"- {who}: {what}" for who, what in negotiated.items()]
    return "\n".join(lines)


def write_json(
    root: Path,
    args: Any,
    results: dict[str, Metrics],
    rows: list[Row],
    extra: dict[str, Any],
) -> Path:
    """Every round's raw figures, the summary and ``extra`` (order, algorithms, versions) in
    ``root``/bench/results/bench-STAMP.json; returns its path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = root / "bench" / "results" / f"bench-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    round_ratios = {
        other: {key: [a / b if b else None for a, b in zip(values, results[other].get(key, []),
                                                           strict=False)]
                for key, values in results[OURS].items()}
        for other in (SAME, DEFAULT)
    }  # fmt: skip
    out.write_text(json.dumps({
        "when": stamp, "args": vars(args),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        **extra, "raw": results, "round_ratios": round_ratios,
        "summary": [asdict(row) for row in rows], "goals": goals(rows),
    }, indent=2, default=str))  # fmt: skip
    return out
