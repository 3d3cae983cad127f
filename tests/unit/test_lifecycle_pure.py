"""Pure lifecycle logic: decay factors, as-of keyword scoring, duplicate text checks, the
consolidation plan, and the access log against a real SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from engramdb.config import DecayConfig, LifecycleConfig, MemoryConfig
from engramdb.errors import ConfigError
from engramdb.lifecycle.access import AccessLog
from engramdb.lifecycle.consolidate import plan, same_text
from engramdb.models import MemoryRecord, NewMemory, Scope, WriteBatch
from engramdb.retrieve.asof import bm25
from engramdb.retrieve.decay import factor, reweight
from engramdb.store.sqlite.store import SQLiteStore

DAY = 86400.0
T0 = "2024-01-01T00:00:00.000000+00:00"
T0_EPOCH = 1704067200.0


def _rec(
    memory: str = "x",
    *,
    memory_type: str = "fact",
    importance: float = 0.5,
    created: str = T0,
    accessed: str | None = None,
    vector: list[float] | None = None,
    rid: str | None = None,
    scope: Scope | None = None,
) -> MemoryRecord:
    return MemoryRecord(
        id=rid or memory,
        memory=memory,
        scope=scope or Scope(user_id="u"),
        metadata={},
        created_at=created,
        updated_at=created,
        valid_at=created,
        memory_type=memory_type,
        importance=importance,
        last_accessed_at=accessed,
        vector=None if vector is None else np.asarray(vector, np.float32),
    )


def test_decay_factor_follows_the_documented_formula() -> None:
    cfg = DecayConfig()
    fresh = factor(_rec(), at=T0_EPOCH, cfg=cfg)
    assert fresh == pytest.approx(1.0)
    year = factor(_rec(), at=T0_EPOCH + 365 * DAY, cfg=cfg)
    assert year == pytest.approx(0.7 + 0.3 * 0.5)
    # Episodes fade faster than facts (half-life 30 vs 365 days).
    episode = factor(_rec(memory_type="episode"), at=T0_EPOCH + 365 * DAY, cfg=cfg)
    assert episode < year
    # Importance scales between 1 - w and 1 + w; an access makes a memory fresh again.
    assert factor(_rec(importance=1.0), at=T0_EPOCH, cfg=cfg) == pytest.approx(1.2)
    assert factor(_rec(importance=0.0), at=T0_EPOCH, cfg=cfg) == pytest.approx(0.8)
    used = _rec(accessed="2025-01-01T00:00:00+00:00")
    assert factor(used, at=T0_EPOCH + 366 * DAY, cfg=cfg) == pytest.approx(1.0)
    # Unknown types use the default half-life; time before the memory counts as age 0.
    assert factor(_rec(memory_type="odd"), at=T0_EPOCH - DAY, cfg=cfg) == pytest.approx(1.0)


def test_reweight_reorders_by_the_factor_and_keeps_unknown_rows() -> None:
    records = {1: _rec("old", created="2020-01-01T00:00:00+00:00"), 2: _rec("new")}
    out = reweight([(1, 1.0), (2, 0.95), (3, 0.5)], records, DecayConfig(), at=T0_EPOCH)
    assert [r for r, _ in out] == [2, 1, 3]
    assert dict(out)[3] == 0.5


def test_decay_config_is_validated() -> None:
    with pytest.raises(ConfigError):
        MemoryConfig.load({"retrieval": {"decay": {"half_life_days": {"fact": 0}}}})
    with pytest.raises(ConfigError):
        MemoryConfig.load({"retrieval": {"decay": {"recency_weight": 2}}})
    assert MemoryConfig.load({}).retrieval.decay.enabled is False


def test_as_of_bm25_scores_matching_docs_only() -> None:
    docs = ["Lives in Porto", "Moved to Helsinki", "Porto wine is nice in Porto"]
    ranked = bm25(docs, "Porto")
    assert sorted(i for i, _ in ranked) == [0, 2]
    assert all(score > 0 for _, score in ranked)
    assert [i for i, _ in bm25(docs, "Porto wine")] == [2, 0]
    assert bm25(docs, "the of") == []
    assert bm25([], "Porto") == []


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Lives in Porto", "lives in porto.", True),
        ("Likes tea", "Doesn't like tea", False),
        ("Has 2 cats", "Has 3 cats", False),
        ("Works at Acme as an engineer", "Works at Acme", False),
        ("", "", True),
    ],
)
def test_same_text(a: str, b: str, same: bool) -> None:
    assert same_text(a, b) is same


def test_plan_keeps_the_better_duplicate_and_never_chains_through_archived() -> None:
    v = [1.0, 0.0]
    records = [
        _rec("likes tea", vector=v, rid="a", importance=0.4),
        _rec("Likes tea.", vector=v, rid="b", importance=0.9),
        _rec("likes tea", vector=v, rid="c", memory_type="preference"),
        _rec("likes tea", vector=v, rid="d", scope=Scope(user_id="other")),
        _rec("likes coffee", vector=[0.0, 1.0], rid="e"),
    ]
    out = plan(records, LifecycleConfig(), now=T0_EPOCH)
    assert out.merged == {"b": ["a"]}
    assert [c.id for c in out.changes] == ["a"]
    assert out.changes[0].reason == "near-duplicate of b"
    assert out.stale == []


def test_plan_archives_stale_only_when_old_unused_and_unimportant() -> None:
    cfg = LifecycleConfig()
    now = T0_EPOCH + 400 * DAY
    records = [
        _rec("a", vector=[1, 0], importance=0.1),
        _rec("b", vector=[0, 1], importance=0.1, accessed="2025-01-20T00:00:00+00:00"),
        _rec("c", vector=[1, 1], importance=0.6),
        _rec("d", vector=[1, -1], importance=0.1, created="2024-12-01T00:00:00+00:00"),
    ]
    assert plan(records, cfg, now=now).stale == ["a"]


def test_access_log_flushes_in_the_background_and_at_close(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "m.db", dims=2)
    store.apply(
        WriteBatch(
            inserts=[
                NewMemory(
                    id=i,
                    memory=i,
                    scope=Scope(user_id="u"),
                    vector=[1.0, 0.0],
                    metadata={},
                    created_at=T0,
                    hash=i,
                )
                for i in ("a", "b")
            ]
        )
    )
    log = AccessLog(store, interval=0.05)
    log.touch("default", ["a", "a", "missing"])
    deadline = time.monotonic() + 5
    while store.get("a", "default").access_count == 0 and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.02)
    assert store.get("a", "default").access_count == 2  # type: ignore[union-attr]
    log.touch("default", ["b"])
    log.close()
    assert store.get("b", "default").access_count == 1  # type: ignore[union-attr]
    log.touch("default", ["b"])  # after close: ignored, no thread restarts
    assert log.flush() == 0
    # A flush that fails (store closed) drops its batch instead of raising into reads.
    log2 = AccessLog(store, interval=60)
    log2.touch("default", ["a"])
    store.close()
    assert log2.flush() == 0
    log2.close()
