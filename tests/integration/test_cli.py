"""The real ``engramdb`` command line, run as a subprocess against a temporary home."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(home: Path, *args: str, stdin: str | None = None, json_out: bool = False) -> Result:
    env = {**os.environ, "COLUMNS": "200", "ENGRAMDB_HOME": str(home.parent / "not-this-one")}
    cmd = [sys.executable, "-m", "engramdb", "--home", str(home)]
    if json_out:
        cmd.append("--json")
    proc = subprocess.run(
        [*cmd, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def ok(result: Result) -> Result:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return result


def failed(result: Result, code: int, message: str) -> None:
    assert result.code == code, (result.out, result.err)
    assert "Traceback" not in result.err
    assert message in result.err


def test_add_search_list_get_update_history_delete(home: Path) -> None:
    added = ok(
        run(
            home,
            "add",
            "I live in Lisbon and work as a nurse",
            "--user",
            "alice",
            "--metadata",
            '{"topic": "bio"}',
            "--timestamp",
            "2024-05-01T10:00:00Z",
            "--no-infer",
            json_out=True,
        )
    ).json()
    memory_id = added["results"][0]["id"]
    ok(run(home, "add", "Bob likes chess", "-u", "bob"))

    human = ok(run(home, "search", "where does alice live", "--user", "alice"))
    assert "I live in Lisbon" in human.out and memory_id in human.out
    hits = ok(run(home, "search", "lisbon", "-u", "alice", "--limit", "1", "--json")).json()
    assert [h["id"] for h in hits["results"]] == [memory_id]
    assert 0 <= hits["results"][0]["score"] <= 1

    filtered = ok(
        run(home, "list", "-u", "alice", "--filters", '{"metadata.topic": "x"}', json_out=True)
    ).json()
    assert filtered["results"] == []
    listed = ok(run(home, "list", "-u", "alice", json_out=True)).json()
    assert [r["id"] for r in listed["results"]] == [memory_id]
    assert "Bob likes chess" not in ok(run(home, "list", "-u", "alice")).out

    got = ok(run(home, "get", memory_id, json_out=True)).json()
    assert got["metadata"] == {"topic": "bio"}
    assert got["created_at"].startswith("2024-05-01T10:00:00")

    ok(run(home, "update", memory_id, "--text", "I live in Porto", "--metadata", '{"v": 2}'))
    assert ok(run(home, "get", memory_id, json_out=True)).json()["memory"] == "I live in Porto"
    entries = ok(run(home, "history", memory_id, json_out=True)).json()
    assert [e["event"] for e in entries] == ["ADD", "UPDATE"]
    assert "I live in Lisbon" in ok(run(home, "history", memory_id)).out

    ok(run(home, "delete", memory_id))
    failed(run(home, "get", memory_id), 1, "no memory with id")
    assert [e["event"] for e in ok(run(home, "history", memory_id, json_out=True)).json()][
        -1
    ] == "DELETE"

    stats = ok(run(home, "stats", json_out=True)).json()
    assert stats["memories"] == 1 and stats["path"].startswith(str(home))
    assert "memories" in ok(run(home, "stats")).out


def test_add_from_file_with_messages(home: Path, tmp_path: Path) -> None:
    chat = tmp_path / "chat.json"
    chat.write_text(
        json.dumps(
            [
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "My cat is called Miso"},
                {"role": "assistant", "content": "Cute name!"},
            ]
        )
    )
    args = ("add", "--file", str(chat), "--agent", "bot", "--no-infer")
    result = ok(run(home, *args, json_out=True)).json()
    assert [r["memory"] for r in result["results"]] == ["My cat is called Miso", "Cute name!"]
    args = ("add", "-f", "-", "-a", "bot", "--no-infer")
    from_stdin = ok(run(home, *args, stdin="plain text\n", json_out=True))
    assert from_stdin.json()["results"][0]["memory"] == "plain text"


def test_delete_all_needs_a_scope(home: Path) -> None:
    ok(run(home, "add", "one", "-u", "alice", "--no-infer"))
    ok(run(home, "add", "two", "-u", "alice", "--no-infer"))
    ok(run(home, "add", "three", "-u", "bob", "--no-infer"))
    failed(run(home, "delete", "--all"), 1, "needs at least one of user_id")
    assert ok(run(home, "stats", json_out=True)).json()["memories"] == 3
    result = ok(run(home, "delete", "--all", "--user", "alice", json_out=True)).json()
    assert result["deleted"] == 2
    assert ok(run(home, "stats", json_out=True)).json()["memories"] == 1


def test_errors_are_one_line_without_traceback(home: Path) -> None:
    failed(run(home, "search", "anything"), 1, "needs at least one of user_id")
    failed(run(home, "get", "nope"), 1, "no memory with id 'nope'")
    failed(run(home, "update", "nope", "--text", "x"), 1, "no memory with id")
    failed(run(home, "add", "x", "-u", "a", "--timestamp", "soon"), 1, "not an ISO-8601 time")
    failed(run(home, "list", "-u", "a", "--filters", '{"a": {"$zz": 1}}'), 1, "$zz")
    error = run(home, "get", "nope")
    assert error.err.strip().count("\n") == 0 and error.out == ""
    # usage errors: exit 2
    failed(run(home, "add", "x", "-u", "a", "--metadata", "{bad"), 2, "not valid JSON")
    failed(run(home, "add", "-u", "a"), 2, "TEXT or --file")
    failed(run(home, "delete"), 2, "give the ID")
    failed(run(home, "delete", "some-id", "--user", "a"), 2, "only go with --all")
    failed(run(home, "frobnicate"), 2, "No such command")
    failed(run(home, "import", str(home / "missing.jsonl")), 2, "cannot read")


def test_bad_config_file_is_a_clean_error(home: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"embedder": {"provider": "nope"}}')
    failed(run(home, "--config", str(cfg), "stats"), 1, "unknown embedder provider 'nope'")


def test_export_import_round_trip(home: Path, tmp_path: Path) -> None:
    for text in ("I like tea", "I live in Oslo", "My sister is Ana"):
        ok(run(home, "add", text, "-u", "alice", "--no-infer"))
    ok(run(home, "add", "not exported", "-u", "bob", "--no-infer"))
    out = tmp_path / "alice.jsonl"
    summary = ok(run(home, "export", "--user", "alice", "--out", str(out), json_out=True)).json()
    assert summary == {"exported": 3, "path": str(out)}
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["type"] == "header"
    assert sum(json.loads(x)["type"] == "memory" for x in lines) == 3

    assert sum(json.loads(x)["type"] == "episode" for x in lines) == 3
    # The graph travels too: Ana, Oslo, and what links them to their memories.
    assert {"entity", "entity_links", "relation"} <= {json.loads(x)["type"] for x in lines}
    to_stdout = ok(
        run(
            home,
            "export",
            "-u",
            "alice",
            "--vectors",
            "--no-history",
            "--no-episodes",
            "--no-graph",
        )
    ).out
    assert [json.loads(x)["type"] for x in to_stdout.splitlines()] == ["header"] + ["memory"] * 3
    assert len(json.loads(to_stdout.splitlines()[1])["vector"]) == 384

    other = tmp_path / "other"
    first = ok(run(other, "import", str(out), json_out=True)).json()
    assert (first["ok"], first["imported"], first["skipped_existing"]) == (True, 3, 0)
    assert first["graph"]["entities"] >= 2 and first["graph"]["relations"] >= 1
    again = ok(run(other, "import", str(out)))
    assert "skipped (id already stored)" in again.out
    assert "graph: entities existing" in again.out
    stats = ok(run(other, "stats", json_out=True)).json()
    assert stats["memories"] == 3
    assert stats["graph"] == ok(run(home, "stats", json_out=True)).json()["graph"] | {
        "entities": first["graph"]["entities"],
        "entity_links": first["graph"]["entity_links"],
        "relations": first["graph"]["relations"],
        "relation_sources": first["graph"]["relation_sources"],
    }
    before = ok(run(home, "list", "-u", "alice", json_out=True)).json()["results"]
    after = ok(run(other, "list", "-u", "alice", json_out=True)).json()["results"]
    assert before == after

    hits = ok(run(other, "search", "live in Oslo", "-u", "alice", json_out=True)).json()
    assert hits["results"][0]["memory"] == "I live in Oslo"


def test_import_chat_log_and_invalid_lines(home: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"role": "user", "content": "I run marathons"}\n'
        "garbage\n"
        '{"role": "user", "content": "I eat oats"}\n'
    )
    failed(run(home, "import", str(log), "--user", "eve"), 1, "nothing imported")
    result = run(home, "import", str(log), "--user", "eve")
    assert "line 2:" in result.err
    assert ok(run(home, "stats", json_out=True)).json()["memories"] == 0

    report = run(home, "import", str(log), "--user", "eve", json_out=True)
    assert report.code == 1
    assert report.json()["ok"] is False and report.json()["invalid"][0]["line"] == 2

    skipped = ok(run(home, "import", str(log), "-u", "eve", "--skip-invalid", json_out=True))
    assert skipped.json()["added"] == 2 and skipped.json()["invalid_count"] == 1
    piped = ok(run(home, "import", "-", "-u", "eve", stdin='{"role":"user","content":"hi"}\n'))
    assert "memories added from chat lines" in piped.out


def test_demo_runs(tmp_path: Path) -> None:
    result = ok(run(tmp_path / "demo", "demo", json_out=True)).json()
    assert result["stored"]["sessions"] == 3
    assert len(result["searches"]) >= 4
    assert all(s["results"] and s["ms"] >= 0 for s in result["searches"])
    human = ok(run(tmp_path / "demo", "demo"))
    assert "Where does the user live now?" in human.out and "Berlin" in human.out


def test_python_dash_m_and_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engramdb", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for command in ("add", "search", "list", "import", "export", "demo"):
        assert command in proc.stdout


def test_migrate_reports_the_schema_version_and_refuses_a_newer_store(home: Path) -> None:
    from engramdb.store.sqlite.schema import LATEST

    out = json.loads(ok(run(home, "migrate", json_out=True)).out)
    assert out == {"schema_version": LATEST, "store": "sqlite"}
    conn = sqlite3.connect(home / "memories.db")
    with conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 'x')",
            (LATEST + 1,),
        )
    conn.close()
    failed(run(home, "migrate"), 1, "newer than this engramdb understands")


def test_context_prints_a_dated_block(home: Path) -> None:
    ok(
        run(
            home,
            "add",
            "I live in Lisbon",
            "--user",
            "u",
            "--no-infer",
            "--timestamp",
            "2024-05-01",
        )
    )
    ok(
        run(
            home,
            "add",
            "I own a cat named Miso",
            "--user",
            "u",
            "--no-infer",
            "--timestamp",
            "2024-06-01",
        )
    )
    shown = ok(run(home, "context", "where do I live", "--user", "u", "--max-tokens", "200"))
    lines = shown.out.splitlines()
    assert lines[1:] == ["- [2024-05-01] I live in Lisbon", "- [2024-06-01] I own a cat named Miso"]
    assert "2 memories" in shown.err
    data = ok(run(home, "context", "where do I live", "--user", "u", json_out=True)).json()
    assert data["text"] == shown.out.rstrip("\n") and len(data["memories"]) == 2
    failed(run(home, "context", "where", "--user", "u", "--max-tokens", "0"), 2, "max-tokens")
    failed(run(home, "context", "where"), 1, "user_id")
