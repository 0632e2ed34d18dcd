"""The numbers docs/analysis.md promises about compare's statistics."""

from __future__ import annotations

import pytest

from asyncswitch.analysis.statistics import detectable_ratio, holm, rank_test, supports_percentile


@pytest.mark.parametrize(("percentile", "least_cycles"), [(50.0, 6), (95.0, 59), (99.0, 299)])
def test_a_percentile_gates_from_the_cycle_count_that_brackets_it(percentile: float, least_cycles: int) -> None:
    assert not supports_percentile(least_cycles - 1, percentile)
    assert supports_percentile(least_cycles, percentile)


def test_holm_adjusts_in_step_and_keeps_the_order() -> None:
    assert holm([0.04, None, 0.01, 0.03]) == [pytest.approx(0.06), None, pytest.approx(0.03), pytest.approx(0.06)]


def test_with_eight_metrics_five_cycles_a_side_can_detect_nothing_and_six_can() -> None:
    spread = [100.0, 110.0, 90.0, 105.0, 95.0, 102.0]
    assert detectable_ratio(spread[:5], spread[:5], alpha=0.05 / 8) is None
    ratio = detectable_ratio(spread, spread, alpha=0.05 / 8)
    assert ratio is not None
    assert 1.0 < ratio < 1.5


def test_fully_separated_samples_of_eight_give_the_exact_smallest_p() -> None:
    assert rank_test([1.0 + i for i in range(8)], [100.0 + i for i in range(8)]) == pytest.approx(2 / 12870)
    assert rank_test([5.0, 5.0], [5.0, 5.0]) is None  # nothing to rank
