"""Several processes sharing one SQLite store: concurrent writes, and caches that catch up."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder

WORKERS = 4
SECONDS = 3.0

WORKER = textwrap.dedent(
    """
    import json, random, sys, time, traceback, uuid
    from engramdb import Memory

    home, wid, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    rng = random.Random(wid)
    m = Memory(path=home)
    m.search("warm up", user_id="shared")
    print(json.dumps({"op": "ready"}), flush=True)
    sys.stdin.readline()  # the parent says go once every worker is ready
    deadline = time.monotonic() + seconds
    mine = []
    adds = searches = 0
    try:
        while time.monotonic() < deadline:
            text = f"worker {wid} note {adds} code{uuid.uuid4().hex[:12]}"
            user = rng.choice(["shared", f"own{wid}"])
            out = m.add(text, user_id=user, infer=False, metadata={"w": wid})
            mid = out["results"][0]["id"]
            mine.append((mid, text, user))
            adds += 1
            print(json.dumps({"op": "add", "id": mid, "text": text, "user": user}), flush=True)
            if adds % 3 == 0:
                old_id, old_text, old_user = rng.choice(mine)
                res = m.search(old_text, user_id=old_user, limit=5)["results"]
                searches += 1
                if not res or res[0]["id"] != old_id:
                    got = [[r["id"], r["memory"], r["score"], r["similarity"]] for r in res]
                    print(json.dumps({"op": "miss", "id": old_id, "text": old_text, "got": got}),
                          flush=True)
            if adds % 5 == 0:
                m.search("notes from every worker", user_id="shared", filters={"w": {"ne": wid}})
                m.get_all(user_id="shared", limit=20)
                searches += 1
    except Exception as exc:
        print(json.dumps({"op": "error", "msg": repr(exc), "tb": traceback.format_exc()}),
              flush=True)
        sys.exit(1)
    print(json.dumps({"op": "done", "adds": adds, "searches": searches}), flush=True)
    """
)

READER = textwrap.dedent(
    """
    import json, sys
    from engramdb import Memory

    m = Memory(path=sys.argv[1])
    m.search("warm up the cache", user_id="shared")
    print("ready", flush=True)
    for line in sys.stdin:
        q = json.loads(line)
        res = m.search(q, user_id="shared", limit=5)["results"]
        print(json.dumps([[r["id"], r["memory"], r["similarity"]] for r in res]), flush=True)
    """
)


def _spawn(script: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_concurrent_writers_and_searchers(tmp_path: Path, embedder: LocalEmbedder) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    home = tmp_path / "data"
    # Create the store first so that workers only ever open an existing file.
    Memory(path=home, embedder=embedder).close()
    procs = [_spawn(script, str(home), str(w), str(SECONDS)) for w in range(WORKERS)]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            assert json.loads(line) == {"op": "ready"}, line
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    acked: list[dict[str, Any]] = []
    for w, (p, (out, err)) in enumerate(zip(procs, outputs, strict=True)):
        assert "database is locked" not in out + err
        assert p.returncode == 0, f"worker {w} failed:\n{out[-3000:]}\n{err[-3000:]}"
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
        bad = [e for e in events if e["op"] in ("error", "miss")]
        assert not bad, json.dumps(bad, indent=1)
        done = events[-1]
        assert done["op"] == "done"
        adds = [e for e in events if e["op"] == "add"]
        assert len(adds) == done["adds"] > 0
        acked.extend(adds)

    assert len({a["id"] for a in acked}) == len(acked)
    with Memory(path=home, embedder=embedder) as m:
        for a in acked:
            got = m.get(a["id"])
            assert got is not None, a
            assert got["memory"] == a["text"]
            assert got["user_id"] == a["user"]
        assert m.stats()["memories"] == len(acked)
        shared = [a for a in acked if a["user"] == "shared"]
        assert len(m.get_all(user_id="shared", limit=10_000)["results"]) == len(shared)
        for a in shared[:: max(1, len(shared) // 25)]:
            assert m.search(a["text"], user_id="shared")["results"][0]["id"] == a["id"]
    assert _integrity(home / "memories.db") == "ok"


def test_reader_process_sees_writes_of_another_process(
    tmp_path: Path, embedder: LocalEmbedder
) -> None:
    script = tmp_path / "reader.py"
    script.write_text(READER)
    home = tmp_path / "data"
    writer = Memory(path=home, embedder=embedder)
    writer.add(["seed memory one", "seed memory two"], user_id="shared", infer=False)
    reader = _spawn(script, str(home))
    assert reader.stdin is not None and reader.stdout is not None

    def ask(query: str) -> list[list[Any]]:
        assert reader.stdin is not None and reader.stdout is not None
        reader.stdin.write(json.dumps(query) + "\n")
        reader.stdin.flush()
        line = reader.stdout.readline()
        assert line, reader.stderr.read() if reader.stderr else ""
        result: list[list[Any]] = json.loads(line)
        return result

    try:
        assert reader.stdout.readline().strip() == "ready"
        # The reader's cache is warm; a write made here must show up there.
        text = "the lighthouse keeper collects blue glass bottles"
        mid = writer.add(text, user_id="shared", infer=False)["results"][0]["id"]
        hits = ask(text)
        assert hits[0][0] == mid
        assert hits[0][2] == pytest.approx(1.0, abs=1e-3)

        # An update re-embeds: the reader finds it by the new text with similarity ~1.
        new_text = "the lighthouse keeper now paints seascapes in oil"
        writer.update(mid, text=new_text)
        hits = ask(new_text)
        assert hits[0][:2] == [mid, new_text]
        assert hits[0][2] == pytest.approx(1.0, abs=1e-3)

        # A burst of writes, then one of them by exact text.
        burst = [f"burst item {i} marker{i * 7919}" for i in range(60)]
        ids = [r["id"] for r in writer.add(burst, user_id="shared", infer=False)["results"]]
        for i in (0, 31, 59):
            assert ask(burst[i])[0][0] == ids[i]

        # A delete disappears from the reader's results.
        writer.delete(mid)
        assert mid not in {h[0] for h in ask(new_text)}
        writer.delete_all(user_id="shared")
        assert ask(burst[5]) == []
    finally:
        reader.stdin.close()
        try:
            reader.wait(timeout=30)
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
            for f in (reader.stdout, reader.stderr):
                if f is not None:
                    f.close()
        writer.close()
    assert reader.returncode == 0
