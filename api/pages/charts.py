"""Charts drawn on the server, as SVG: no script and nothing from another site."""

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# Distinct colours that stay apart for the common forms of colour blindness.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]  # a rate in 0..1 per month; None when nothing to count


def _frame(
    key: str,
    title: str,
    width: int,
    height: int,
    count: int,
    left: int,
    right: int,
    y: Callable[[float], float],
) -> list[str]:
    """The chart's element with room for the legend of ``count`` series, its title, and
    the grid of the rates (0–100 %)."""
    legend = 22 * ((count + 2) // 3)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + legend}" '
        f'role="img" class="chart" id="{key}" aria-labelledby="{key}-title">',
        f'<title id="{key}-title">{escape(title)}</title>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{int(tick * 100)}%</text>"
        )
    return parts


def _legend(series: list[Series], left: int, plot_w: int, height: int) -> list[str]:
    """Each series' colour and name, three to a row under the chart."""
    parts = []
    for n, s in enumerate(series):
        lx = left + (n % 3) * (plot_w / 3)
        ly = height + 22 * (n // 3) - 6
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - 9}" width="12" height="12" '
            f'fill="{COLOURS[n % len(COLOURS)]}"/>'
            f'<text x="{lx + 16:.1f}" y="{ly + 1}" font-size="12">{escape(s.name)}</text>'
        )
    return parts


def line_chart(
    key: str, title: str, months: list[str], series: list[Series], *, width: int = 640
) -> Markup:
    """Rates (0–100 %) per month, one line per series (a month without cases leaves a
    gap), with a legend; ``key`` names the chart's element."""
    height, left, right, top, bottom = 260, 44, 12, 16, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(months) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(rate: float) -> float:
        return top + plot_h * (1 - rate)

    parts = _frame(key, title, width, height, len(series), left, right, y)
    for i, month in enumerate(months):
        if len(months) <= 12 or i % 2 == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="11">{escape(month)}</text>'
            )
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = [(x(i), y(v)) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
            )
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
    parts += _legend(series, left, plot_w, height)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    key: str, title: str, categories: list[str], series: list[Series], *, width: int = 640
) -> Markup:
    """Rates (0–100 %) side by side for each category (a branch), one bar per series, the
    figure written above each bar; a missing rate leaves its place empty."""
    height, left, right, top, bottom = 260, 44, 12, 20, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    group = plot_w / max(len(categories), 1)
    bar = group * 0.8 / max(len(series), 1)

    def y(rate: float) -> float:
        return top + plot_h * (1 - rate)

    parts = _frame(key, title, width, height, len(series), left, right, y)
    for i, category in enumerate(categories):
        x0 = left + i * group + group * 0.1
        parts.append(
            f'<text x="{left + (i + 0.5) * group:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" font-size="11">{escape(category)}</text>'
        )
        for n, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            bx, by = x0 + n * bar, y(value)
            parts.append(
                f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bar - 2:.1f}" '
                f'height="{top + plot_h - by:.1f}" fill="{COLOURS[n % len(COLOURS)]}">'
                f"<title>{escape(s.name)} {escape(category)} {value:.1%}</title></rect>"
                f'<text x="{bx + bar / 2 - 1:.1f}" y="{by - 3:.1f}" text-anchor="middle" '
                f'font-size="10">{value * 100:.0f}%</text>'
            )
    parts += _legend(series, left, plot_w, height)
    parts.append("</svg>")
    return Markup("".join(parts))
