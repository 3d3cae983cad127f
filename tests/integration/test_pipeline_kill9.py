"""kill -9 during ``add(infer=True)``: every acknowledged memory and episode is in the store,
the file is intact, and the input of an unacknowledged add is at worst a pending episode."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support.scripted_llm import RecordedRequest, Reply, ScriptedLLM

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder

ROUNDS = 3

CHILD = textwrap.dedent(
    """
    import json, sys, uuid
    from engramdb import Memory

    home, tag, llm_url = sys.argv[1], sys.argv[2], sys.argv[3]
    config = None
    if llm_url != "-":
        config = {"llm": {"provider": "openai", "base_url": llm_url, "api_key": "x",
                          "model": "m", "max_retries": 1, "backoff_s": 0.01, "timeout_s": 5}}
    m = Memory(path=home, config=config)
    print(json.dumps({"op": "ready"}), flush=True)
    templates = [
        "I have a cat named Tom{i}x{code}.",
        "I live in Town{i}x{code}.",
        "just a note {i} code {code}",
    ]
    i = 0
    while True:
        code = uuid.uuid4().hex[:8]
        text = templates[i % 3].format(i=i, code=code)
        out = m.add(text, user_id="alice", timestamp=f"2024-01-01T00:00:{i % 60:02d}Z")
        print(json.dumps({"op": "ack", "text": text, "results": out["results"],
                          "episode_ids": out["episode_ids"]}), flush=True)
        i += 1
    """
)


def _echo(req: RecordedRequest) -> Reply:
    """A valid extraction reply restating the one new message as a fact."""
    prompt = next(m["content"] for m in req.messages() if m["role"] == "user")
    said = re.search(r"\[user\] (.*)", prompt)
    text = f"User said: {said.group(1) if said else 'something'}"
    return Reply(text=json.dumps({"facts": [{"text": text}]}))


def _run_and_kill(
    script: Path, home: Path, tag: str, llm_url: str, rng: random.Random
) -> list[dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, str(script), str(home), tag, llm_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not lines and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert lines and json.loads(lines[0])["op"] == "ready", (
            proc.stderr.read() if proc.stderr else ""
        )
        # The first add warms up (model, HTTP client): kill at a random moment after it.
        while len(lines) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 1.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
    assert proc.returncode == -signal.SIGKILL
    return [json.loads(line) for line in lines[1:] if line.endswith("\n")]


@pytest.mark.slow
@pytest.mark.parametrize("extractor", ["rules", "llm"])
def test_acknowledged_infer_adds_survive_kill_9(
    tmp_path: Path, embedder: LocalEmbedder, scripted_llm: ScriptedLLM, extractor: str
) -> None:
    scripted_llm.script = _echo
    llm_url = scripted_llm.openai_url if extractor == "llm" else "-"
    home = tmp_path / "data"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random(4321)
    acks: list[dict[str, Any]] = []
    for r in range(ROUNDS):
        acks += _run_and_kill(script, home, f"r{r}", llm_url, rng)
    assert len(acks) >= ROUNDS, "the child should acknowledge some adds before being killed"

    conn = sqlite3.connect(home / "memories.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()

    with Memory(path=home, embedder=embedder) as m:
        episodes = {e["id"]: e for e in m.episodes(user_id="alice", limit=10_000)}
        for ack in acks:
            for eid in ack["episode_ids"]:
                assert eid in episodes, f"acknowledged episode {eid} lost"
                assert episodes[eid]["status"] == "done"
                assert episodes[eid]["content"] == ack["text"]
            assert ack["results"], ack
            for row in ack["results"]:
                if row["event"] in ("ADD", "SUPERSEDE", "UPDATE"):
                    got = m.get(row["id"])
                    assert got is not None, f"acknowledged memory {row['id']} lost"
                    assert got["memory"] == row["memory"]
                    assert set(ack["episode_ids"]) <= set(got["metadata"]["episode_ids"])
                if row["event"] == "SUPERSEDE":
                    old = m.get(row["supersedes"])
                    assert old is not None and old["status"] == "superseded"

        # Anything not acknowledged is at worst one pending episode per killed round:
        # its input is kept, and reprocess() finishes it.
        pending = [e for e in episodes.values() if e["status"] != "done"]
        assert len(pending) <= ROUNDS
        assert all(e["status"] == "pending" for e in pending)
        if extractor == "rules" and pending:
            assert m.reprocess(user_id="alice", status="pending")["episodes"] == len(pending)
        # No memory refers to an episode that is not stored.
        for record in m.get_all(user_id="alice", limit=1000)["results"]:
            assert set(record["metadata"]["episode_ids"]) <= set(episodes)
