"""The app under load: 20 concurrent sessions for 60 s, no errors, no memory leak."""

from __future__ import annotations

import pytest

from rag.bench.loadtest import load_test


@pytest.mark.slow
def test_twenty_sessions_for_a_minute_get_every_answer_without_leaking() -> None:
    report = load_test(sessions=20, seconds=60)
    print(report.summary())
    assert report.errors == 0, report.error_samples
    # Each session gets through several questions even on a 2-core machine.
    assert report.served >= 2 * report.sessions
    # Caches fill during the first half; steady growth after that would be a leak.
    assert report.rss_second_half_growth_mib < 0.05 * report.rss_after_warmup_mib
