"""The dashboard: how the bot did over a range of days, as figures, charts and tables.

Charts are drawn on the server with matplotlib's object API (`Figure`, no pyplot and so no
global figure state or GUI backend) into SVG, and embedded as data images: they need no
JavaScript and no CDN, and pass the page's CSP (`img-src 'self' data:`). Each chart has alt
text and the same numbers as a table. Reading and drawing run in a worker thread; drawing is
serialised by a lock (matplotlib is not thread-safe) and cached for unchanged figures. The
outcome figures (resolved, handed off, abandoned, per reason and per intent) come from
`bot/review_app/stats/outcome_figures.py`, the shares of frustrated and other-language messages from
`bot/review_app/stats/signals.py`, for the same days, each linking to the conversations behind it.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sanic import Blueprint, Request

from bot.review_app.rendering import render
from bot.review_app.stats.inbox_and_dashboard import DashboardStats, dashboard_stats
from bot.review_app.stats.outcome_figures import OutcomeSummary, outcome_summary
from bot.review_app.stats.outcomes import ABANDONED_REASONS, UNRECORDED
from bot.review_app.stats.signals import SignalShares, signal_shares
from bot.review_app.threads import in_thread
from bot.storage.handoffs_and_feedback import (
    ASKED_FOR_HUMAN,
    COMPLAINT,
    FRUSTRATION,
    NOTHING_FOUND,
    OTHER_LANGUAGE,
    REPEATED_FALLBACK,
)

bp = Blueprint("dashboard")

DEFAULT_DAYS = 30
MAX_DAYS = 366
EARLIEST = dt.date(1970, 1, 1)  # before any logged conversation; timestamps stay positive
ACCENT, WARN, OK, BAD = "#3b5bdb", "#b7791f", "#1a7f4b", "#c0392b"
_drawing = threading.Lock()
# What each handoff reason means, next to its count.
HANDOFF_REASON_WORDS = {
    ASKED_FOR_HUMAN: "the customer asked for a person",
    NOTHING_FOUND: 'a template could not be filled, or "No, it didn\'t" after a retrieved answer',
    REPEATED_FALLBACK: "the bot did not understand the customer twice in a row",
    COMPLAINT: "the customer complained",
    FRUSTRATION: (
        "the customer was frustrated twice, or right after the bot did not understand them"
    ),
    OTHER_LANGUAGE: "the customer wrote in a language the bot does not speak",
    UNRECORDED: "a handoff answer without a stored request",
}


class RangeError(ValueError):
    """A date range the dashboard cannot show; the message is shown to staff."""


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise RangeError(f"{name} must be a date like 2026-11-26.") from error


def parse_range(args: Any, today: dt.date) -> tuple[dt.date, dt.date]:
    """The query's `since`/`until` (both included); the last 30 days by default. Dates far
    from today are refused: year 1 or 9999 would overflow the day arithmetic (a 500)."""
    latest = today + dt.timedelta(days=MAX_DAYS)
    until = _date(args.get("until"), "To") if args.get("until") else today
    since = _date(args.get("since"), "From") if args.get("since") else None
    for day in (since, until):
        if day is not None and not EARLIEST <= day <= latest:
            raise RangeError(f"Choose dates from {EARLIEST} to {latest}.")
    since = since or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise RangeError("From must not be after To.")
    if (until - since).days >= MAX_DAYS:
        raise RangeError(f"Choose at most {MAX_DAYS} days.")
    return since, until


# ------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    alt: str
    src: str  # data:image/svg+xml;base64,...


def _figure(height: float = 2.8) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # imported on first use: half a second

    figure = Figure(figsize=(6.4, height), layout="tight")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    return figure, axes


def _data_uri(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _day_axis(axes: Any, days: Sequence[dt.date]) -> None:
    step = max(1, len(days) // 8)
    ticks = list(range(0, len(days), step))
    axes.set_xticks(ticks, [days[i].strftime("%m-%d") for i in ticks])
    axes.set_xlim(-0.6, len(days) - 0.4)


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{100 * value:.0f}%"


def _conversations_chart(stats: DashboardStats) -> Chart:
    days = [day.day for day in stats.days]
    figure, axes = _figure()
    axes.bar(range(len(days)), [day.conversations for day in stats.days], color=ACCENT)
    _day_axis(axes, days)
    axes.set_ylabel("conversations", fontsize=8)
    busiest = max(stats.days, key=lambda day: day.conversations)
    most = f", at most {busiest.conversations} on {busiest.day}" if stats.conversations else ""
    alt = (
        f"Bar chart of conversations started per day from {stats.since} to {stats.until}: "
        f"{stats.conversations} in all{most}."
    )
    return Chart("conversations", "Conversations per day", alt, _data_uri(figure))


def _rates_chart(stats: DashboardStats) -> Chart:
    days = [day.day for day in stats.days]
    figure, axes = _figure()
    for label, values, color in (
        ("fallback rate", [day.fallback_rate for day in stats.days], WARN),
        ("handoff rate", [day.handoff_rate for day in stats.days], BAD),
    ):
        points = [(i, 100 * v) for i, v in enumerate(values) if v is not None]
        if points:
            axes.plot(
                *zip(*points, strict=True), marker="o", markersize=3, label=label, color=color
            )
    _day_axis(axes, days)
    axes.set_ylim(0, 100)
    axes.set_ylabel("% per day", fontsize=8)
    if axes.lines:  # days without messages draw no line, and an empty legend warns
        axes.legend(fontsize=8, frameon=False)
    alt = (
        f"Line chart of the daily fallback rate (share of customer messages answered by "
        f"nlu_fallback) and handoff rate (share of conversations handed to a person): "
        f"{_percent(stats.fallback_rate)} and {_percent(stats.handoff_rate)} over the range."
    )
    return Chart("rates", "Fallback and handoff rate per day", alt, _data_uri(figure))


def _intents_chart(stats: DashboardStats) -> Chart:
    names = [name for name, _ in stats.intents][::-1]
    counts = [count for _, count in stats.intents][::-1]
    figure, axes = _figure(height=max(2.0, 0.28 * len(names) + 0.8))
    axes.barh(range(len(names)), counts, color=ACCENT)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("customer messages", fontsize=8)
    top = ", ".join(f"{name} {count}" for name, count in stats.intents[:3]) or "none"
    alt = f"Horizontal bar chart of the {len(names)} most frequent intents; the top ones: {top}."
    return Chart("intents", "Intents of customer messages", alt, _data_uri(figure))


def _confidence_chart(stats: DashboardStats) -> Chart:
    figure, axes = _figure()
    bins = len(stats.confidence_bins)
    axes.bar(
        [i / bins for i in range(bins)],
        stats.confidence_bins,
        width=1 / bins,
        align="edge",
        color=ACCENT,
        edgecolor="white",
    )
    axes.set_xlim(0, 1)
    axes.set_xlabel("classifier confidence", fontsize=8)
    axes.set_ylabel("customer messages", fontsize=8)
    total = sum(stats.confidence_bins)
    low = sum(stats.confidence_bins[: bins // 2])
    alt = (
        f"Histogram of the classifier's confidence for {total} customer messages in "
        f"{bins} bins; {low} of them below 50%."
    )
    return Chart("confidence", "Confidence of customer messages", alt, _data_uri(figure))


def _feedback_chart(stats: DashboardStats) -> Chart:
    figure, axes = _figure(height=1.8)
    axes.barh([1, 0], [stats.helpful, stats.not_helpful], color=[OK, BAD])
    axes.set_yticks([1, 0], ["helpful", "not helpful"])
    axes.set_xlabel("answers rated by customers", fontsize=8)
    alt = (
        f"Bar chart of customer feedback on retrieved answers: {stats.helpful} helpful, "
        f"{stats.not_helpful} not helpful."
    )
    return Chart("feedback", "Did the answer help?", alt, _data_uri(figure))


@lru_cache(maxsize=32)
def draw_charts(stats: DashboardStats) -> tuple[Chart, ...]:
    """Every chart of the dashboard as an SVG data image (cached: same figures, same SVG)."""
    with _drawing:
        return (
            _conversations_chart(stats),
            _rates_chart(stats),
            _intents_chart(stats),
            _confidence_chart(stats),
            _feedback_chart(stats),
        )


def _build(
    engine: Any, since: dt.date, until: dt.date
) -> tuple[DashboardStats, tuple, OutcomeSummary, SignalShares]:
    stats = dashboard_stats(engine, since, until)
    outcomes, signals = outcome_summary(engine, since, until), signal_shares(engine, since, until)
    return stats, draw_charts(stats), outcomes, signals


# -------------------------------------------------------------------------- page


@bp.get("/dashboard")
async def dashboard(request: Request):
    today = dt.datetime.now(dt.timezone.utc).date()
    try:
        since, until = parse_range(request.args, today)
    except RangeError as error:
        return render(
            request,
            "dashboard.html",
            status=400,
            error=str(error),
            since=request.args.get("since") or "",
            until=request.args.get("until") or "",
            stats=None,
            charts={},
            outcomes=None,
            signals=None,
        )
    engine = request.app.ctx.engine
    stats, charts, outcomes, signals = await in_thread(_build, engine, since, until)
    return render(
        request,
        "dashboard.html",
        error=None,
        since=since.isoformat(),
        until=until.isoformat(),
        stats=stats,
        charts={chart.key: chart for chart in charts},
        outcomes=outcomes,
        signals=signals,
        abandoned_reasons=ABANDONED_REASONS,
        handoff_reasons=HANDOFF_REASON_WORDS,
    )
