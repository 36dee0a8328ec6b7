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
    pairs = [
        rate(float(p), float(w), int(c), None if a is None or (isinstance(a, float) and np.isnan(a)) else float(a))
        for p, w, c, a in zip(percentiles, widths, comparables, asked)
    ]
    return [r for r, _ in pairs], [why for _, why in pairs]
