"""The /progress picture: sessions per week and each partner's back-feel, as a PNG.

Drawn with matplotlib's object API on the Agg canvas: no pyplot, so no global figure
registry and no display. Rendering is CPU work of tens of milliseconds, so callers run
`ChartRenderer.render` in a worker thread (`asyncio.to_thread`), off the event loop.
"""

from __future__ import annotations

import io
import math
import threading
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
    """Renders charts; one per application, shared by the handlers and the benchmark.

    matplotlib does not promise thread safety even across separate figures (fonts and
    text layout share caches), so renders in worker threads take turns.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def render(self, chart: ChartInput) -> bytes:
        with self._lock:
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


