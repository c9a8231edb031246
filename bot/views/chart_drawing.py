"""PNG charts for Slack: a cluster's IAM auth metrics over a window, and a digest's breaching family.

Drawn with matplotlib's object API (a `Figure` on its own Agg canvas): no pyplot, no global state,
no display, so charts can be drawn in several worker threads at once. Sizes and fonts are chosen
for Slack's preview, which shows an image at roughly half its width: text is large, lines thick.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from bot.domain.chart_spec import DigestChart
from bot.domain.metrics import FAMILY_METRICS, MetricsReport, Series, resample
from bot.domain.records import Family
from bot.domain.window import format_duration

DPI = 100
METRICS_SIZE = (12.0, 6.0)  # inches at DPI: 1200×600 px
DIGEST_SIZE = (9.0, 3.6)  # 900×360 px
TITLE_SIZE = 20
SUBTITLE_SIZE = 14
LABEL_SIZE = 15
TICK_SIZE = 14
LEGEND_SIZE = 13
# Room above the highest point for the legend, so it never hides the data.
HEADROOM = 1.45
REQUESTS_COLOUR = "#1f77b4"
SUCCESS_COLOUR = "#2ca02c"
THRESHOLD_COLOUR = "#b00020"
FAMILY_COLOURS: dict[Family, str] = {
    Family.INVALID_TOKEN: "#f28e2b",
    Family.INSUFFICIENT_PERMISSIONS: "#d62728",
    Family.THROTTLING: "#9467bd",
    Family.SERVER_ERROR: "#6b6b6b",
}
_PERIOD_NAMES = {60: "min", 3600: "hour", 86400: "day"}


def per_period(period: int) -> str:
    """300 → `5 min`, 3600 → `hour`: the unit of a count summed per period."""
    if period in _PERIOD_NAMES:
        return _PERIOD_NAMES[period]
    if period % 3600 == 0:
        return f"{period // 3600} h"
    return f"{period // 60} min"


def draw_metrics_chart(report: MetricsReport) -> bytes:
    """Requests and successes above, failures by family stacked below, over the report's window."""
    fig = Figure(figsize=METRICS_SIZE, dpi=DPI, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    edges, values = _zero_filled(report)
    x = _days(edges)
    unit = per_period(report.period)

    # Names are drawn as they are: a `$` must never start matplotlib's math mode.
    fig.suptitle(
        f"IAM DB auth connections · {report.cluster}",
        fontsize=TITLE_SIZE,
        fontweight="bold",
        parse_math=False,
    )
    source = f"Sum per {unit} by {report.dimension}"
    if report.instances:
        source = f"Sum per {unit}, {len(report.instances)} instances summed"
    top.set_title(
        f"{report.window.describe()} · {source}", fontsize=SUBTITLE_SIZE, loc="left", color="#444"
    )
    # Successes are most requests: the thinner line on top leaves the requests visible around it.
    for metric, label, colour, width in (
        ("IamDbAuthConnectionRequests", "requests", REQUESTS_COLOUR, 4.0),
        ("IamDbAuthConnectionSuccess", "successes", SUCCESS_COLOUR, 2.0),
    ):
        top.plot(
            x,
            values[metric],
            drawstyle="steps-post",
            color=colour,
            linewidth=width,
            label=f"{label} ({report.total(metric):,})",
        )
    top.set_ylabel(f"connections\nper {unit}", fontsize=LABEL_SIZE)

    families = list(FAMILY_METRICS.items())
    bottom.stackplot(
        x,
        *[values[metric] for _, metric in families],
        labels=[f"{family.value} ({report.total(metric):,})" for family, metric in families],
        colors=[FAMILY_COLOURS[family] for family, _ in families],
        step="post",
        alpha=0.9,
    )
    bottom.set_ylabel(f"failures\nper {unit}", fontsize=LABEL_SIZE)
    stacked = [sum(column) for column in zip(*(values[m] for _, m in families), strict=True)]
    if not any(stacked):
        _note(bottom, "no failures in this window")
    if not report.has_data:
        _note(top, "CloudWatch has no data points in this window")

    for ax, peak in ((top, max(values["IamDbAuthConnectionRequests"])), (bottom, max(stacked))):
        _style(ax, peak)
        ax.legend(loc="upper left", fontsize=LEGEND_SIZE, framealpha=0.85, ncols=2)
    _time_axis(bottom, report.start, report.end)
    return _png(fig)


def draw_digest_chart(chart: DigestChart) -> bytes:
    """The family's failures in the threshold's window at each minute, and the threshold."""
    fig = Figure(figsize=DIGEST_SIZE, dpi=DPI, layout="constrained")
    ax = fig.subplots()
    window = per_period(int(chart.window.total_seconds()))
    colour = FAMILY_COLOURS.get(chart.family, FAMILY_COLOURS[Family.SERVER_ERROR])
    times, counts = _days(chart.times), list(chart.counts)
    ax.set_title(
        f"{chart.cluster} · {chart.family.value} failures in the previous {window}",
        fontsize=16,
        fontweight="bold",
        loc="left",
        parse_math=False,
    )
    ax.plot(times, counts, color=colour, linewidth=2.5, label=f"{chart.family.value}")
    ax.fill_between(times, counts, color=colour, alpha=0.2, linewidth=0)
    ax.axhline(
        chart.threshold,
        color=THRESHOLD_COLOUR,
        linestyle="--",
        linewidth=2,
        label=f"threshold: ≥ {chart.threshold:,} in {format_duration(chart.window)}",
    )
    ax.fill_between(
        times,
        counts,
        chart.threshold,
        where=[c >= chart.threshold for c in counts],
        interpolate=True,
        color=THRESHOLD_COLOUR,
        alpha=0.25,
        linewidth=0,
    )
    ax.set_ylabel(f"failures\nper {window}", fontsize=LABEL_SIZE)
    _style(ax, max([*counts, chart.threshold]))
    ax.legend(loc="upper left", fontsize=LEGEND_SIZE - 1, framealpha=0.85)
    _time_axis(ax, chart.times[0] if chart.counts else chart.end - chart.step, chart.end)
    return _png(fig)


def metrics_alt_text(report: MetricsReport) -> str:
    """What the metrics chart shows, for screen readers (Slack's `alt_txt`)."""
    failures = ", ".join(
        f"{family.value} {report.total(metric):,}" for family, metric in FAMILY_METRICS.items()
    )
    return (
        f"Chart of IAM DB auth connections to {report.cluster}, {report.window.describe()}: "
        f"{report.total('IamDbAuthConnectionRequests'):,} requests, "
        f"{report.total('IamDbAuthConnectionSuccess'):,} successes; failures: {failures}."
    )


def digest_alt_text(chart: DigestChart) -> str:
    window = per_period(int(chart.window.total_seconds()))
    latest = chart.counts[-1] if chart.counts else 0
    return (
        f"Chart of {chart.family.value} failures on {chart.cluster} in the previous {window}, "
        f"minute by minute over the last hour up to {chart.end:%H:%M} UTC: now {latest:,}, "
        f"peak {max(chart.counts, default=0):,}, threshold {chart.threshold:,}."
    )


def _zero_filled(report: MetricsReport) -> tuple[list[datetime], dict[str, list[float]]]:
    """Period edges from start to end, and each metric's sum per period (0 where CloudWatch has
    no point), with the last value repeated so a step line reaches the window's end."""
    periods = max(1, round((report.end - report.start).total_seconds() / report.period))
    edges = [report.start + timedelta(seconds=report.period * i) for i in range(periods + 1)]
    values: dict[str, list[float]] = {}
    for metric in ("IamDbAuthConnectionRequests", "IamDbAuthConnectionSuccess",
                   *FAMILY_METRICS.values()):  # fmt: skip
        sums = resample(report.series.get(metric) or Series(), report.start, report.end, periods)
        values[metric] = [*sums, sums[-1]]
    return edges, values


def _style(ax: Axes, peak: float) -> None:
    ax.tick_params(labelsize=TICK_SIZE)
    ax.set_ylim(0, peak * HEADROOM if peak > 0 else 1)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=2))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.grid(visible=True, axis="both", color="#dddddd", linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)


def _days(times: Sequence[datetime]) -> list[float]:
    """matplotlib's date numbers: x values its date locators and formatters understand."""
    return [float(d) for d in date2num(list(times))]  # type: ignore[no-untyped-call]


def _time_axis(ax: Axes, start: datetime, end: datetime) -> None:
    # matplotlib.dates has no type hints, hence the two ignores.
    locator = AutoDateLocator(tz=UTC, minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
    ax.xaxis.get_offset_text().set_fontsize(TICK_SIZE)
    low, high = _days([start, end])
    ax.set_xlim(low, high)
    ax.set_xlabel("time (UTC)", fontsize=LABEL_SIZE)


def _note(ax: Axes, text: str) -> None:
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
        fontsize=LABEL_SIZE, color="#666666",
    )  # fmt: skip


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)  # attaches itself to the figure: Agg, whatever the default backend
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
