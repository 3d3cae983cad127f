"""``add(..., background=True)``: queued durably in the store, drained by a worker thread,
status queryable, surviving the death of the process that queued it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest
from tests.support.scripted_llm import Reply, ScriptedLLM

import engramdb.queue as queue_module
from engramdb import Memory
from engramdb.embed.local import LocalEmbedder

T0 = "2024-03-01T10:00:00Z"


def llm_config(server: ScriptedLLM) -> dict[str, Any]:
    return {
        "llm": {
            "provider": "openai",
            "base_url": server.openai_url,
            "api_key": "x",
            "model": "m",
            "max_retries": 1,
            "backoff_s": 0.01,
            "timeout_s": 2,
        }
    }


def test_background_add_returns_at_once_then_completes(
    tmp_path: Path, embedder: LocalEmbedder, scripted_llm: ScriptedLLM
) -> None:
    facts = json.dumps({"facts": [{"text": "User lives in Berlin"}]})
    scripted_llm.push(Reply(text=facts, delay_s=0.6, prompt_tokens=50, completion_tokens=5))
    with Memory(path=tmp_path, embedder=embedder, config=llm_config(scripted_llm)) as m:
        started = time.perf_counter()
        out = m.add("I live in Berlin.", user_id="alice", background=True, timestamp=T0)
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5, "a background add must not wait for the LLM"
        assert out["status"] == "queued" and out["results"] == []
        assert len(out["episode_ids"]) == 1
        assert m.add_status(out["batch_id"])["status"] in ("queued", "pending")
        assert m.get_all(user_id="alice")["results"] == []

        assert m.wait(10)
        status = m.add_status(out["batch_id"])
        assert status["status"] == "done"
        assert [e["id"] for e in status["episodes"]] == out["episode_ids"]
        assert [r["memory"] for r in m.get_all(user_id="alice")["results"]] == [
            "User lives in Berlin"
        ]
        assert m.stats()["usage"] == {"llm_calls": 1, "prompt_tokens": 50, "completion_tokens": 5}
        assert len(scripted_llm.requests) == 1


def test_background_adds_offline_are_processed_in_order(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    with Memory(path=tmp_path, embedder=embedder) as m:
        first = m.add("I live in Berlin.", user_id="alice", background=True, timestamp=T0)
        second = m.add(
            "I moved to Paris last month.",
            user_id="alice",
            background=True,
            timestamp="2024-06-15T10:00:00Z",
        )
        assert m.wait(10)
        assert m.add_status(first["batch_id"])["status"] == "done"
        assert m.add_status(second["batch_id"])["status"] == "done"
        [current] = m.get_all(user_id="alice")["results"]
        assert "Paris" in current["memory"]
        assert current["metadata"]["supersedes"]


def test_background_failure_is_reported_and_reprocessable(
    tmp_path: Path, embedder: LocalEmbedder, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.push("no json here", "still none")
    with Memory(path=tmp_path, embedder=embedder, config=llm_config(scripted_llm)) as m:
        out = m.add("I like tea.", user_id="alice", background=True, timestamp=T0)
        assert m.wait(10)
        status = m.add_status(out["batch_id"])
        assert status["status"] == "failed"
        assert status["episodes"][0]["error"].startswith("ExtractionError: openai")
        assert m.get_all(user_id="alice")["results"] == []
        assert m.stats()["usage"]["llm_calls"] == 2

        scripted_llm.push(json.dumps({"facts": [{"text": "User likes tea"}]}))
        again = m.reprocess(out["episode_ids"])
        assert [r["memory"] for r in again["results"]] == ["User likes tea"]
        assert m.add_status(out["batch_id"])["status"] == "done"


def test_a_kick_racing_with_the_worker_exit_still_drains(
    tmp_path: Path, embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker found the queue empty and is ending but still alive when the next add
    kicks: that add must not be left queued with wait() hanging."""

    class SlowExit(threading.Thread):
        def run(self) -> None:
            try:
                super().run()
            finally:
                time.sleep(0.5)  # alive a little longer after draining

    fake = types.SimpleNamespace(Thread=SlowExit, Lock=threading.Lock, Event=threading.Event)
    monkeypatch.setattr(queue_module, "threading", fake)
    with Memory(path=tmp_path, embedder=embedder) as m:
        first = m.add("I have a cat named Tom.", user_id="a", background=True, timestamp=T0)
        assert m.wait(10)
        second = m.add("I have a dog named Rex.", user_id="a", background=True, timestamp=T0)
        assert m.wait(5), "the second background add was never processed"
        assert m.add_status(first["batch_id"])["status"] == "done"
        assert m.add_status(second["batch_id"])["status"] == "done"


CHILD = textwrap.dedent(
    """
    import json, sys, time
    from engramdb import Memory

    m = Memory(path=sys.argv[1])
    # Extraction cannot run in this process: the worker blocks until the process is killed.
    m.ingestor.run = lambda *args, **kwargs: time.sleep(3600)
    a = m.add("I live in Berlin.", user_id="alice", background=True,
              timestamp="2024-03-01T10:00:00Z")
    b = m.add("I have a cat named Tom.", user_id="alice", background=True,
              timestamp="2024-03-02T10:00:00Z")
    print(json.dumps([a, b]), flush=True)
    time.sleep(3600)
    """
)


def _queue_in_killed_child(tmp_path: Path, home: Path) -> list[dict[str, Any]]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
    assert proc.returncode == -signal.SIGKILL
    queued: list[dict[str, Any]] = json.loads(line)
    return queued


def test_queued_batches_survive_process_death(tmp_path: Path, embedder: LocalEmbedder) -> None:
    home = tmp_path / "data"
    queued = _queue_in_killed_child(tmp_path, home)
    with Memory(path=home, embedder=embedder) as m:
        # Opening the store resumes the dead process's queue.
        assert {e["content"] for e in m.episodes(user_id="alice")} == {
            "I live in Berlin.",
            "I have a cat named Tom.",
        }
        assert m.wait(10)
        for q in queued:
            assert m.add_status(q["batch_id"])["status"] == "done"
        memories = sorted(r["memory"] for r in m.get_all(user_id="alice")["results"])
        assert memories == ["Has a cat named Tom", "Lives in Berlin"]
        # The facts keep the time the messages were said, not the time of the restart.
        for r in m.get_all(user_id="alice")["results"]:
            assert r["created_at"].startswith("2024-03-0")


def test_old_queued_work_is_picked_up_without_a_kick(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    home = tmp_path / "data"
    queued = _queue_in_killed_child(tmp_path, home)
    with Memory(path=home, embedder=embedder) as m:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if all(m.add_status(q["batch_id"])["status"] == "done" for q in queued):
                break
            time.sleep(0.05)
        assert all(m.add_status(q["batch_id"])["status"] == "done" for q in queued)


def test_reprocess_can_drain_old_queued_work(tmp_path: Path, embedder: LocalEmbedder) -> None:
    """The documented manual way out: reprocess(status="queued") runs it synchronously."""
    home = tmp_path / "data"
    queued = _queue_in_killed_child(tmp_path, home)
    with Memory(path=home, embedder=embedder) as m:
        # reprocess() races the resumed worker; each batch is claimed once, by one of them.
        out = m.reprocess(user_id="alice", status="queued")
        assert m.wait(10)
        assert out["episodes"] <= 2
        for q in queued:
            assert m.add_status(q["batch_id"])["status"] == "done"
        memories = sorted(r["memory"] for r in m.get_all(user_id="alice")["results"])
        assert memories == ["Has a cat named Tom", "Lives in Berlin"]
