"""``engramdb forget``, ``consolidate``, ``restore``, ``search --as-of`` and ``list
--include-invalid`` as subprocesses against a temporary home."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.test_cli import failed, ok, run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_time_forget_consolidate_restore(home: Path) -> None:
    ok(run(home, "add", "I live in Porto.", "-u", "a", "-t", "2022-02-01T00:00:00Z"))
    ok(run(home, "add", "I moved to Helsinki.", "-u", "a", "-t", "2024-05-20T00:00:00Z"))
    then = ok(
        run(home, "search", "where do I live", "-u", "a", "--as-of", "2023-01-01", json_out=True)
    ).json()
    assert [h["memory"] for h in then["results"]] == ["Lives in Porto"]
    listed = ok(run(home, "list", "-u", "a", "--include-invalid", json_out=True)).json()
    assert [r["status"] for r in listed["results"]] == ["active", "superseded"]

    for text in ("User likes green tea", "user likes green tea."):
        ok(run(home, "add", text, "-u", "b", "--no-infer"))
    dry = ok(run(home, "consolidate", "-u", "b", "--dry-run"))
    assert "would archive 1 of 2" in dry.out
    report = ok(run(home, "consolidate", "-u", "b", json_out=True)).json()
    (dup,) = report["merged"][0]["archived"]
    assert len(ok(run(home, "list", "-u", "b", json_out=True)).json()["results"]) == 1
    assert dup in ok(run(home, "restore", dup)).out
    failed(run(home, "restore", dup), 1, "not archived")

    erased = ok(run(home, "forget", "-u", "a", "--reason", "asked", json_out=True)).json()
    assert erased["counts"]["memories"] == 2 and erased["reason"] == "asked"
    assert ok(run(home, "list", "-u", "a", "--include-invalid", json_out=True)).json() == {
        "results": []
    }
    failed(run(home, "forget"), 1, "needs at least one of")
