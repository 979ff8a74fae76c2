"""Pictures of Ehrlich sequences: a coloured strip of states per design, motifs outlined."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ._function import EhrlichFunction

#: outline colours of the motifs (cycled beyond eight motifs).
MOTIF_COLORS = (
    "#d62728",
    "#1f3fbf",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
)
#: the bar between the two cells of a banned transition.
BANNED_COLOR = "black"


def _state_cmap(v: int) -> ListedColormap:
    import matplotlib

    if v <= 20:
        colors = matplotlib.colormaps["tab20"](np.arange(v))
    elif v <= 60:
        pal = np.concatenate(
            [matplotlib.colormaps[n](np.arange(20)) for n in ("tab20", "tab20b", "tab20c")]
        )
        colors = pal[:v]
    else:
        colors = matplotlib.colormaps["turbo"](np.linspace(0, 1, v))
    colors = colors.copy()
    colors[:, 3] = 0.45  # pale cells: the motif outlines and symbols stay readable
    return ListedColormap(colors)


def draw_sequences(
    function: EhrlichFunction,
    x: np.ndarray,
    labels: Sequence[str] | None = None,
    width: int = 64,
    symbols: bool | None = None,
) -> Figure:
    """One panel per sequence of ``x`` ``(N, L)``: cells coloured by state (wrapped every
    ``width`` positions), each motif's best window outlined in its colour (solid and thick
    where the state matches the motif, dotted where it does not) and every banned
    transition marked by a black bar between its two cells.

    Args:
        function: the Ehrlich function (motifs, spacings, transition matrix).
        x: int sequences ``(N, L)``.
        labels: one title per sequence (default: its score).
        width: cells per line.
        symbols: write each state's symbol in its cell (default: when ``v <= 62`` and
            lines are at most 64 cells).
    """
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 2 or not len(x):
        raise ValueError("nothing to draw: give sequences (N, L) with N >= 1")
    n, length = x.shape
    if labels is None:
        labels = [f"f = {v:.4g}" for v in function(x)]
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} designs")
    width = max(1, min(int(width), length))
    lines = math.ceil(length / width)
    strings = function.to_strings(x) if function.v <= 62 else None
    if symbols is None:
        symbols = strings is not None and width <= 64
    counts, where = function.motif_counts(x)
    banned = function.banned_steps(x)
    cmap = _state_cmap(function.v)

    cell = 0.22
    panel_h = lines * cell + 0.45
    fig = Figure(figsize=(max(4.0, width * cell + 0.6), n * panel_h + 0.5), dpi=100)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for d, ax in enumerate(axes):
        grid = np.full(lines * width, np.nan)
        grid[:length] = x[d]
        ax.imshow(
            grid.reshape(lines, width),
            cmap=cmap,
            vmin=-0.5,
            vmax=function.v - 0.5,
            interpolation="nearest",
            aspect="equal",
        )
        if symbols and strings is not None:
            for p, ch in enumerate(strings[d]):
                r, col = divmod(p, width)
                ax.text(col, r, ch, ha="center", va="center", fontsize=6, family="monospace")
        for i in range(function.c):
            color = MOTIF_COLORS[i % len(MOTIF_COLORS)]
            start = where[d, i]
            for j, off in enumerate(function.offsets[i]):
                p = int(start + off)
                r, col = divmod(p, width)
                hit = x[d, p] == function.motifs[i, j]
                ax.add_patch(
                    Rectangle(
                        (col - 0.5, r - 0.5),
                        1,
                        1,
                        fill=False,
                        ec=color,
                        lw=1.8 if hit else 0.9,
                        ls="-" if hit else ":",
                    )
                )
        for t in np.flatnonzero(banned[d]):
            r, col = divmod(int(t), width)
            ax.plot(
                [col + 0.5, col + 0.5],
                [r - 0.75, r + 0.75],
                color=BANNED_COLOR,
                lw=3.5,
                solid_capstyle="butt",
                clip_on=False,
                zorder=5,
            )
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(lines - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])
        share = " ".join(f"{c}/{function.k}" for c in counts[d])
        ax.set_title(f"{labels[d]}   motifs {share}", fontsize=7, loc="left")
    motif_text = function.motif_strings()
    handles = [
        Line2D(
            [],
            [],
            color=MOTIF_COLORS[i % len(MOTIF_COLORS)],
            lw=2,
            label=f"motif {i}: {motif_text[i]} @ {function.offsets[i].tolist()}",
        )
        for i in range(function.c)
    ]
    handles.append(Line2D([], [], color=BANNED_COLOR, lw=3.5, label="banned transition"))
    fig.legend(handles=handles, loc="lower center", ncol=min(3, len(handles)), fontsize=6)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.97, bottom=0.4 / (n * panel_h + 0.5) + 0.02)
    return fig
