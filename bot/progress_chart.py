"""The /progress picture: sessions per week and each partner's back-feel, as a PNG.

Drawn with matplotlib's object API on the Agg canvas: no pyplot, so no global figure
registry and no display. Drawing is CPU work of about 100 ms that holds the GIL for most
of it, so a worker thread would still stall the event loop (measured: 200-400 ms, see
README): the bot renders in one worker process instead, started on the first chart.
"""

from __future__ import annotations

import asyncio
import io
import math
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from routines.progress import Progress

# 10 x 8 inches at 100 dpi: 1000 x 800 pixels, wide enough for a phone to show sharply.
WIDTH_IN, HEIGHT_IN, DPI = 10.0, 8.0, 100
# Two colours that stay apart for the common colour-vision deficiencies (Okabe-Ito).
PARTNER_COLOURS = ("#0072B2", "#E69F00")
_BAR_COLOUR = "#009E73"
_FONT = {"title": 22, "label": 18, "ticks": 15, "legend": 17}


@dataclass(frozen=True, slots=True)
class ChartInput:
    """What the picture shows: the numbers, and the partners' names in a fixed order."""

    progress: Progress
    partners: tuple[tuple[int, str], ...]  # (user id, first name), one colour each


class ChartRenderer:
    """Renders charts in one worker process; one per application, closed at shutdown."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    async def render_off_loop(self, chart: ChartInput) -> bytes:
        """The PNG, drawn in the worker process while the event loop goes on."""
        return await asyncio.get_running_loop().run_in_executor(self._worker(), render, chart)

    def _worker(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # A fresh interpreter, not a fork of one with running threads.
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def render(chart: ChartInput) -> bytes:
    """The chart as PNG bytes, drawn here and now (the worker process runs this)."""
    buffer = io.BytesIO()
    chart_figure(chart).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def chart_figure(chart: ChartInput) -> Figure:
    """The figure, drawn on its own Agg canvas; `render` turns it into PNG bytes."""
    progress = chart.progress
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    sessions_axes, feel_axes = figure.subplots(2, 1, sharex=True)
    positions = list(range(len(progress.week_starts)))
    labels = [f"{start.day} {start:%b}" for start in progress.week_starts]

    sessions_axes.bar(positions, progress.sessions, color=_BAR_COLOUR, width=0.7)
    sessions_axes.set_title("Sessions per week", fontsize=_FONT["title"], loc="left")
    top = max(progress.sessions, default=0)
    sessions_axes.set_ylim(0, max(top + 1, 3))
    sessions_axes.yaxis.get_major_locator().set_params(integer=True)

    for (person, name), colour in zip(chart.partners, PARTNER_COLOURS, strict=False):
        values = [math.nan if v is None else v for v in progress.feel.get(person, ())]
        feel_axes.plot(
            positions,
            values,
            color=colour,
            linewidth=3,
            marker="o",
            markersize=9,
            label=name,
        )
    feel_axes.set_title("How your backs feel (1-5)", fontsize=_FONT["title"], loc="left")
    feel_axes.set_ylim(0.5, 5.5)
    feel_axes.set_yticks([1, 2, 3, 4, 5])
    feel_axes.legend(fontsize=_FONT["legend"], loc="lower left", ncols=2, frameon=False)
    feel_axes.set_xticks(positions, labels, rotation=45, ha="right")
    feel_axes.set_xlabel("Week starting", fontsize=_FONT["label"])

    for axes in (sessions_axes, feel_axes):
        axes.tick_params(labelsize=_FONT["ticks"])
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    FigureCanvasAgg(figure)
    return figure
