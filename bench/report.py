"""Benchmark results: one row per comparison, printed as a table and written as JSON and Markdown."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench.timing import Stats, paired_ratios

DOC_BEGIN = "<!-- bench:results:begin -->"
DOC_END = "<!-- bench:results:end -->"


@dataclass
class Row:
    """alloy_nb against a reference on one case; `ratio` is alloy_nb / reference per interleaved round."""

    benchmark: str
    case: str
    unit: str
    ours: Stats
    reference_name: str = ""
    reference: Stats | None = None
    ratio: Stats | None = None
    goal: str = ""
    met: bool | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def ratio_row(
    benchmark: str,
    case: str,
    unit: str,
    ours: list[float],
    reference: list[float],
    reference_name: str,
    *,
    scale: float = 1.0,
    goal: str = "",
    limit: float | None = None,
    higher_is_better: bool = False,
) -> Row:
    """A row from two interleaved series; `limit` bounds the median ratio from above (or below)."""
    ratios = Stats.of(paired_ratios(ours, reference))
    met = None
    if limit is not None:
        met = ratios.median >= limit if higher_is_better else ratios.median <= limit
    return Row(
        benchmark,
        case,
        unit,
        Stats.of(ours).scaled(scale),
        reference_name,
        Stats.of(reference).scaled(scale),
        ratios,
        goal,
        met,
    )


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def _measure(stats: Stats | None) -> str:
    if stats is None:
        return "—"
    return f"{_number(stats.median)} ±{stats.relative_spread * 50:.0f}%"


def _verdict(row: Row) -> str:
    return {True: "yes", False: "NO", None: ""}[row.met]


def table_lines(rows: list[Row]) -> list[str]:
    """A Markdown table: medians with half the interquartile range as ±%, ratios, goals."""
    lines = [
        "| benchmark | case | unit | alloy_nb | reference | ratio | goal | met | notes |",
        "|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        reference = f"{row.reference_name}: {_measure(row.reference)}" if row.reference_name else "—"
        ratio = f"{row.ratio.median:.3f} [{row.ratio.q1:.3f}–{row.ratio.q3:.3f}]" if row.ratio else "—"
        notes = "; ".join(
            f"{key} {_number(value) if isinstance(value, float) else value}" for key, value in row.notes.items()
        )
        lines.append(
            f"| {row.benchmark} | {row.case} | {row.unit} | {_measure(row.ours)} | {reference} | {ratio} "
            f"| {row.goal} | {_verdict(row)} | {notes} |"
        )
    return lines


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    packages = {}
    for name in ("alloy_nb", "ollama", "openai", "httpx", "pydantic", "llama_cpp_python", "alloy-ai"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            pass
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": packages,
    }


def write_json(path: Path, rows: list[Row], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"environment": meta, "rows": [asdict(row) for row in rows]}, indent=2) + "\n")


def update_doc(path: Path, rows: list[Row], meta: dict[str, Any]) -> None:
    """Replace the generated results section of a Markdown document."""
    text = path.read_text()
    begin, end = text.index(DOC_BEGIN) + len(DOC_BEGIN), text.index(DOC_END)
    packages = ", ".join(f"{name} {number}" for name, number in meta["packages"].items())
    generated = [
        "",
        f"Measured {meta['date']} on {meta['platform']}, {meta['cpus']} CPUs, Python {meta['python']} ({packages}).",
        "",
        *table_lines(rows),
        "",
    ]
    path.write_text(text[:begin] + "\n".join(generated) + text[end:])
