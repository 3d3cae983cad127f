"""Stored request metrics add up per (tenant, minute, kind): both backends."""

from __future__ import annotations

from engramdb import Memory
from engramdb.models import MetricRow


def test_metrics_add_up_and_stay_per_tenant(mem: Memory) -> None:
    m1, m2 = "2024-05-01T10:00:00.000000+00:00", "2024-05-01T10:01:00.000000+00:00"
    mem.store.record_metrics(
        [
            MetricRow("a", m1, "search", 2, 10.0),
            MetricRow("a", m2, "llm", 1, 0.0, 40),
            MetricRow("b", m1, "search", 5, 50.0),
        ]
    )
    mem.store.record_metrics([MetricRow("a", m1, "search", 1, 2.5)])
    mem.store.record_metrics([])
    assert mem.store.metrics("a", m1) == [
        MetricRow("a", m1, "search", 3, 12.5, 0),
        MetricRow("a", m2, "llm", 1, 0.0, 40),
    ]
    assert mem.store.metrics("a", m2) == [MetricRow("a", m2, "llm", 1, 0.0, 40)]
    assert mem.store.metrics("b", m1) == [MetricRow("b", m1, "search", 5, 50.0, 0)]
    assert mem.store.metrics("c", m1) == []
