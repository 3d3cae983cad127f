"""mem0ai's own ``MemoryClient`` drives ``engramdb serve`` unchanged (the hosted-API routes).

The test installs ``mem0ai`` into its own virtualenv (cached under the temp dir, keyed by the
version), starts ``engramdb serve`` as a subprocess on a free 127.0.0.1 port, and runs a script
that uses ``MemoryClient(api_key=..., host=...)`` for add, search, get_all, get, update,
history, delete and delete_all. Mem0's telemetry is switched off in that script's environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.serve import engramdb_serve

MEM0_VERSION = os.environ.get("ENGRAMDB_TEST_MEM0AI", "2.2.1")
ADMIN = "admin-mem0-key-0123456789"

SCRIPT = r"""
import json, sys
from mem0 import MemoryClient

host, key = sys.argv[1], sys.argv[2]
out = {}
client = MemoryClient(api_key=key, host=host)
added = client.add(
    [{"role": "user", "content": "I am allergic to peanuts"}],
    user_id="mem0-alice", metadata={"source": "mem0"}, infer=False,
)
out["add"] = added
client.add("I work as a pilot", filters={"user_id": "mem0-alice"}, infer=False)
client.add("Bob likes chess", user_id="mem0-bob", infer=False)
out["search"] = client.search("food allergy", filters={"user_id": "mem0-alice"}, top_k=1)
out["get_all"] = client.get_all(filters={"AND": [{"user_id": "mem0-alice"}]})
out["get_all_page"] = client.get_all(filters={"user_id": "mem0-alice"}, page=1, page_size=1)
mid = added["results"][0]["id"]
out["get"] = client.get(mid)
out["update"] = client.update(mid, text="I am allergic to peanuts and shellfish")
out["history"] = client.history(mid)
out["delete"] = client.delete(mid)
try:
    client.get(mid)
    out["get_deleted"] = "found"
except Exception as exc:
    out["get_deleted"] = type(exc).__name__
out["delete_all"] = client.delete_all(user_id="mem0-alice")
out["after_delete_all"] = client.get_all(filters={"user_id": "mem0-alice"})
out["bob"] = client.get_all(filters={"user_id": "mem0-bob"})
try:
    MemoryClient(api_key="wrong-key", host=host)
    out["bad_key"] = "accepted"
except Exception as exc:
    out["bad_key"] = type(exc).__name__
print("RESULT " + json.dumps(out))
"""


def mem0_python() -> Path:
    """A virtualenv with mem0ai installed (created once per version, then reused)."""
    venv = Path(tempfile.gettempdir()) / f"engramdb-test-mem0ai-{MEM0_VERSION}"
    python = venv / "bin" / "python"
    marker = venv / ".ok"
    if marker.exists() and python.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"mem0ai=={MEM0_VERSION}"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if pip.returncode != 0:
        pytest.skip(f"cannot install mem0ai=={MEM0_VERSION}: {pip.stderr[-500:]}")
    marker.write_text(MEM0_VERSION)
    return python


@pytest.fixture
def engramdb_server(tmp_path: Path) -> Iterator[str]:
    env = {"ENGRAMDB_ADMIN_KEY": ADMIN, "ENGRAMDB_RATE_LIMIT": "0"}
    with engramdb_serve(tmp_path / "home", env=env) as url:
        yield url


@pytest.mark.slow
def test_mem0_memory_client_runs_unchanged(engramdb_server: str, tmp_path: Path) -> None:
    python = mem0_python()
    key = httpx.post(
        engramdb_server + "/v1/keys",
        json={"tenant": "mem0-user"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    ).json()["key"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "MEM0_DIR": str(tmp_path / ".mem0"),
        "MEM0_TELEMETRY": "False",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    run = subprocess.run(
        [str(python), "-c", SCRIPT, engramdb_server, key],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    lines = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    out = json.loads(lines[0][len("RESULT ") :])

    assert out["add"]["results"][0]["memory"] == "I am allergic to peanuts"
    hits = out["search"]["results"]
    assert len(hits) == 1 and hits[0]["memory"] == "I am allergic to peanuts"
    assert {m["memory"] for m in out["get_all"]["results"]} == {
        "I am allergic to peanuts",
        "I work as a pilot",
    }
    page = out["get_all_page"]
    assert len(page["results"]) == 1 and page["next"]
    assert out["get"]["metadata"] == {"source": "mem0"}
    assert out["get"]["user_id"] == "mem0-alice"
    assert out["update"]["memory"] == "I am allergic to peanuts and shellfish"
    assert [e["event"] for e in out["history"]] == ["ADD", "UPDATE"]
    assert "message" in out["delete"]
    assert out["get_deleted"] == "MemoryNotFoundError"
    assert "message" in out["delete_all"]
    assert out["after_delete_all"]["results"] == []
    assert [m["memory"] for m in out["bob"]["results"]] == ["Bob likes chess"]
    assert out["bad_key"] != "accepted"
