"""Deal ratings in five bands, placed by where the asking price falls in the predictive distribution.

As AutoScout24 does, no rating is given when the estimate is too uncertain: the listing has no usable
asking price, its 90% range is wider than MAX_RELATIVE_WIDTH of the estimate, or fewer than
MIN_COMPARABLES listings of the same brand and model were seen in training. The rule that applied is
returned with every rating.
"""

from __future__ import annotations

import numpy as np

# Upper percentile limits of each band (great = asking price in the lowest 10% of the distribution).
BANDS = [(0.10, "great"), (0.30, "good"), (0.70, "fair"), (0.90, "high"), (1.01, "overpriced")]
MAX_RELATIVE_WIDTH = 1.0  # (high₉₀ − low₉₀) / estimate
MIN_COMPARABLES = 5


def rate(percentile: float, relative_width: float, comparables: int, asked: float | None) -> tuple[str | None, str]:
    """(rating or None, the rule that decided it)."""
    if asked is None or not np.isfinite(asked) or asked <= 0:
        return None, "no asking price"
    if comparables < MIN_COMPARABLES:
        return None, f"too few comparables ({comparables} < {MIN_COMPARABLES} of this brand and model)"
    if relative_width > MAX_RELATIVE_WIDTH:
        return None, f"range too wide (90% range is {relative_width:.0%} of the estimate > {MAX_RELATIVE_WIDTH:.0%})"
    for limit, band in BANDS:
        if percentile < limit:
            return band, f"asking price at the {percentile:.0%} point of the predictive distribution"
    return "overpriced", f"asking price at the {percentile:.0%} point of the predictive distribution"


def rate_many(percentiles, widths, comparables, asked) -> tuple[list, list]:
    """rate() of every row, worked out a column at a time: the same ratings and the same rule texts."""
    percentile = np.asarray(percentiles, dtype=float)
    width = np.asarray(widths, dtype=float)
    count = np.asarray(comparables).astype(np.int64)
    ask = np.asarray([np.nan if a is None else a for a in asked], dtype=float)
    no_price = ~(np.isfinite(ask) & (ask > 0))
    few = ~no_price & (count < MIN_COMPARABLES)
    wide = ~no_price & ~few & (width > MAX_RELATIVE_WIDTH)
    placed = ~(no_price | few | wide)
    ratings = np.full(percentile.shape, None, dtype=object)
    # a NaN percentile falls through every band to "overpriced", as rate()'s loop lets it
    band = np.searchsorted([limit for limit, _ in BANDS], percentile, side="right")
    names = np.array([name for _, name in BANDS] + ["overpriced"], dtype=object)
    ratings[placed] = names[np.where(np.isnan(percentile), len(BANDS), band)[placed]]
    rules = np.full(percentile.shape, "no asking price", dtype=object)
    rules[few] = [f"too few comparables ({c} < {MIN_COMPARABLES} of this brand and model)" for c in count[few]]
    rules[wide] = [f"range too wide (90% range is {w:.0%} of the estimate > {MAX_RELATIVE_WIDTH:.0%})" for w in width[wide]]
    # f"{p:.0%}" rounds p × 100 to the nearest integer, halves to even, as np.round does: 101 texts serve every row
    points = np.array([f"asking price at the {k}% point of the predictive distribution" for k in range(101)], dtype=object)
    shown = percentile[placed]
    usual = (shown >= 0) & (shown <= 1) & ~np.signbit(shown)  # anything else (NaN, say) is formatted as it comes
    texts = np.empty(shown.shape, dtype=object)
    texts[usual] = points[np.round(shown[usual] * 100).astype(np.int64)]
    texts[~usual] = [f"asking price at the {p:.0%} point of the predictive distribution" for p in shown[~usual]]
    rules[placed] = texts
    return ratings.tolist(), rules.tolist()
