"""The statistics behind compare: is a difference between two runs' per-cycle samples more than
seed-to-seed noise, which percentiles a sample size supports, and what slowdown a pair of sample
sizes could detect.

- ``rank_test``: the two-sided Mann-Whitney U test (scipy), exact for small samples without ties.
- ``holm``: Holm's step-down adjustment, so that comparing eight metrics at alpha = 0.05 still has a
  5 % chance of any false alarm, not 34 %.
- ``supports_percentile``: the sample's smallest and largest values bracket the true percentile with
  95 % confidence (distribution-free), i.e. 1 - q^n - (1-q)^n >= 0.95: p50 needs 6 samples, p95 59,
  p99 299. Below that the sample percentile is little more than the sample's extreme.
- ``detectable_ratio``: the slowdown a rank test on n1 and n2 samples catches 80 % of the time at alpha,
  given the samples' spread (pooled standard deviation of the log durations; the rank test's
  efficiency relative to the t-test is 3/π on normal data). None when no difference at all could
  reach alpha (an exact p-value is at least 2 / C(n1+n2, n1): 3 cycles against 3 never can).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

__all__ = ["ALPHA", "POWER", "SUPPORT_CONFIDENCE", "detectable_ratio", "holm", "rank_test", "supports_percentile"]

ALPHA = 0.05
"""Significance level of the rank test."""
POWER = 0.8
"""The chance of detecting a slowdown of the detectable ratio."""
SUPPORT_CONFIDENCE = 0.95

_SMALLEST_MS = 0.001
"""Durations are clamped to a microsecond before taking logs (a phase can take 0 ms on the instant profile)."""


def rank_test(baseline: Sequence[float], candidate: Sequence[float]) -> float | None:
    """The two-sided Mann-Whitney U p-value; None when either sample is empty or all values are equal."""
    if not baseline or not candidate or len({*baseline, *candidate}) < 2:
        return None
    from scipy.stats import mannwhitneyu  # imported here: scipy takes half a second to import, `run` needs none of it

    return float(mannwhitneyu(baseline, candidate, alternative="two-sided").pvalue)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values, in the given order (None stays None and does not count as a test)."""
    tested = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[index] = running
    return adjusted


def supports_percentile(count: int, percentile: float) -> bool:
    """Whether ``count`` samples support the ``percentile`` (0-100); see the module docstring."""
    q = percentile / 100
    return count > 0 and 1 - q ** count - (1 - q) ** count >= SUPPORT_CONFIDENCE


def smallest_p(n1: int, n2: int) -> float:
    """The smallest two-sided exact p-value a rank test on n1 and n2 samples can give."""
    return min(1.0, 2 / math.comb(n1 + n2, n1)) if n1 and n2 else 1.0


def detectable_ratio(baseline: Sequence[float], candidate: Sequence[float], *, alpha: float = ALPHA,
                     power: float = POWER) -> float | None:
    """The candidate/baseline ratio that these sample sizes and spreads could detect (see above)."""
    n1, n2 = len(baseline), len(candidate)
    if n1 < 2 or n2 < 2 or smallest_p(n1, n2) > alpha:
        return None
    logs = [[math.log(max(value, _SMALLEST_MS)) for value in sample] for sample in (baseline, candidate)]
    pooled = math.sqrt(((n1 - 1) * statistics.variance(logs[0]) + (n2 - 1) * statistics.variance(logs[1]))
                       / (n1 + n2 - 2))
    normal = statistics.NormalDist()
    effect = (normal.inv_cdf(1 - alpha / 2) + normal.inv_cdf(power)) * math.sqrt(1 / n1 + 1 / n2)
    return math.exp(effect * pooled / math.sqrt(3 / math.pi))
