"""The dashboard: items per week by sector and by language (server-drawn SVG), failing sources, the curation
queue, whether the monitor is alive (its workers and the task queue, as on the sources page), the
deadlines of open case files due within two weeks (or overdue), and per language the share of items
whose relevance the terms judged, the learned model judged, or was left to a reader."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from kb import cases as cases_store
from kb import curation
from kb.curation import Series
from kb.learning import training
from kb.learning.retag import judge_shares
from webui.access import current_kb, role_required, signed_in_user
from webui.i18n import N_
from webui.sources import monitor_status
from webui.templating import language_name, topic_label

bp = Blueprint("dashboard", __name__)
NAV = ((N_("Dashboard"), "dashboard.index", "coordinator"),)

# Colour-blind-safe palette (Okabe and Ito); the last is for "other" and "no sector".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 40, 34, 10, 40
DEADLINE_DAYS = 14


@dataclass(frozen=True)
class Line:
    label: str
    colour: str
    points: str  # SVG polyline points
    total: int


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    lines: list[Line]
    y_ticks: list[tuple[float, int]]  # (y, value)
    x_ticks: list[tuple[float, str]]  # (x, week label)
    baseline: float
    left: float
    right: float
    weeks: Sequence[str]
    rows: list[tuple[str, tuple[int, ...]]]  # the data as a table, for screen readers and without SVG


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def line_chart(title: str, weeks: Sequence[str], series: Sequence[Series],
               label: Callable[[str], str]) -> Chart:
    """Coordinates of one line per series over the weeks (computed here; the template only draws them)."""
    top = _nice_max(max((max(s.counts) for s in series if s.counts), default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(weeks) - 1)

    def x(n: int) -> float:
        return round(LEFT + n * step, 1)

    def y(value: int) -> float:
        return round(TOP + plot_h - value / top * plot_h, 1)

    lines = []
    for n, s in enumerate(series):
        colour = PALETTE[-1] if s.key in (curation.NO_SECTOR, curation.OTHER_LANGUAGE) else PALETTE[n % 7]
        points = " ".join(f"{x(i)},{y(c)}" for i, c in enumerate(s.counts))
        lines.append(Line(label(s.key), colour, points, s.total))
    y_ticks = [(y(top * k // 4), top * k // 4) for k in range(5)]
    x_ticks = [(x(i), week) for i, week in enumerate(weeks) if i % 4 == (len(weeks) - 1) % 4]
    rows = [(label(s.key), s.counts) for s in series]
    return Chart(title, WIDTH, HEIGHT, lines, y_ticks, x_ticks, y(0), LEFT, WIDTH - RIGHT, weeks, rows)


def _sector_label(key: str) -> str:
    return gettext("No sector") if key == curation.NO_SECTOR else topic_label(f"sector/{key}")


@bp.route("/dashboard")
@role_required("coordinator")
def index() -> ResponseReturnValue:
    kb = current_kb()
    board = curation.dashboard(kb.db, tz=kb.settings.tz)
    charts = [
        line_chart(gettext("Items per week by sector"), board.weeks, board.by_sector, _sector_label),
        line_chart(gettext("Items per week by language"), board.weeks, board.by_language, language_name),
    ]
    today = datetime.now(kb.settings.tz).date()  # the lab's day
    deadlines = cases_store.upcoming_deadlines(kb.db, signed_in_user(), days=DEADLINE_DAYS, today=today)
    return render_template("dashboard/index.html", board=board, charts=charts, deadlines=deadlines,
                           deadline_days=DEADLINE_DAYS, today=today.isoformat(), monitor=monitor_status(kb),
                           shares=judge_shares(kb.db), learning=training.training_state(kb.db))
