"""``engramdb add --outcome``, ``engramdb lessons`` and ``engramdb feedback`` as subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import failed, ok, run

RUN = [
    {"role": "user", "content": "Deploy the billing service to staging"},
    {"role": "assistant", "content": "Running deploy.sh billing staging"},
    {"role": "tool", "content": "ERROR: environment variable DATABASE_URL is not set"},
]


def test_record_an_episode_then_read_lessons_and_give_feedback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    episode = tmp_path / "run.json"
    episode.write_text(json.dumps(RUN))
    added = ok(
        run(
            home, "add", "-f", str(episode), "--agent", "ops", "--outcome", "failure", json_out=True
        )
    ).json()
    [row] = added["results"]
    assert row["memory_type"] == "experience" and row["failures"] == 1

    table = ok(run(home, "lessons", "deploy billing", "--agent", "ops")).out
    assert "1 lesson(s)" in table and "DATABASE_URL" in table and "failure" in table
    got = ok(run(home, "lessons", "deploy billing", "--agent", "ops", json_out=True)).json()
    assert got["results"][0]["id"] == row["id"]

    said = ok(
        run(home, "feedback", row["id"], "not_useful", "--note", "stale", "-q", "deploy billing")
    ).out
    assert "not_useful recorded" in said and "importance 0.450" in said
    history = ok(run(home, "history", row["id"], json_out=True)).json()
    assert history[-1]["event"] == "FEEDBACK"
    assert history[-1]["reason"] == "not_useful: stale (query: deploy billing)"

    failed(run(home, "feedback", row["id"], "meh"), 1, "signal must be one of")
    failed(run(home, "lessons", "deploy billing"), 1, "needs at least one of")
    failed(
        run(home, "add", "-f", str(episode), "--outcome", "failure", "--user", "u"), 1, "agent_id"
    )
