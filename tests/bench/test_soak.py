"""The soak's verdict (bench/soak.py): zero errors, every ingestion run succeeded, memory
flat after warm-up (the last five intervals within 10%, the later half of a shorter run)."""

from __future__ import annotations

from bench.soak import Sample, verdict


def sample(index: int, rss: float, errors: int = 0, **runs: int) -> Sample:
    return Sample(
        index=index,
        seconds=60,
        requests=1000,
        errors=errors,
        p50_ms=10,
        p99_ms=50,
        rss_mb=rss,
        runs=runs or {"SUCCEEDED": 2},
    )


def test_flat_memory_after_warm_up_without_errors_passes() -> None:
    # Warm-up grows from 200 to 320 MB; the last five minutes stay within 10%.
    rss = [200, 260, 300, 310, 315, 320, 318, 322, 325, 330]

    result = verdict([sample(i, mb) for i, mb in enumerate(rss, 1)])

    assert result.ok
    assert result.rss_window == [320, 318, 322, 325, 330]
    assert (result.errors, result.failed_runs, result.runs) == (0, 0, 20)


def test_memory_that_keeps_growing_fails() -> None:
    rss = [300, 310, 320, 330, 340, 350, 360, 370, 380, 400]

    result = verdict([sample(i, mb) for i, mb in enumerate(rss, 1)])

    assert not result.flat
    assert not result.ok
    assert round(result.rss_spread, 3) == round((400 - 350) / 350, 3)


def test_one_error_or_one_failed_run_fails() -> None:
    flat = [sample(i, 300) for i in range(1, 11)]

    with_error = verdict([*flat[:-1], sample(10, 300, errors=1)])
    with_failed_run = verdict([*flat[:-1], sample(10, 300, SUCCEEDED=1, FAILED=1)])

    assert (with_error.ok, with_error.errors) == (False, 1)
    assert (with_failed_run.ok, with_failed_run.failed_runs) == (False, 1)


def test_a_short_soak_judges_memory_on_its_later_half() -> None:
    result = verdict([sample(i, mb) for i, mb in enumerate([100, 200, 300, 305], 1)])

    assert result.rss_window == [300, 305]
    assert result.ok


def test_a_soak_without_any_ingestion_run_fails() -> None:
    result = verdict([sample(i, 300, SKIPPED=0) for i in range(1, 11)])

    assert result.runs == 0
    assert not result.ok
