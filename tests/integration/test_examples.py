"""Every script in examples/ runs offline, as a user would start it, and says what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(name: str, home: Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_example_is_tested() -> None:
    tested = {"personal_assistant.py", "support_agent.py", "coding_agent.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_personal_assistant_remembers_across_sessions(tmp_path: Path) -> None:
    out = run("personal_assistant.py", tmp_path)
    session2 = out.split("session 2", 1)[1]
    bot = next(line for line in session2.splitlines() if "bot >" in line)
    assert "Is vegetarian" in bot and "Thai" in bot
    assert "  - Lives in Lisbon" in out
    assert "  - Dislikes mushrooms" in out
    # The store is a real directory: running again keeps what was learnt.
    assert (tmp_path / "memories.db").exists()


def test_support_agent_keeps_customers_per_tenant(tmp_path: Path) -> None:
    out = run("support_agent.py", tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith("server on http://127.0.0.1:")
    acme, globex = out.split("globex support", 1)
    assert "[cust-42] recalled: Prefers email" in acme
    assert "recalled: I'm on the Pro plan" in acme
    assert "[cust-42] recalled: nothing yet" in globex
    assert "Pro plan" not in globex.split("acme memories")[0]
    assert "acme memories of cust-42: 3" in lines
    assert "globex memories of cust-42: 1" in lines


def test_coding_agent_avoids_a_known_failure(tmp_path: Path) -> None:
    out = run("coding_agent.py", tmp_path)
    day1, day2 = out.split("task: run the tests before a release", 1)
    assert "ran: pytest -> failed" in day1
    assert "lesson (failed): To run the test suite: `pytest` fails" in day2
    assert "skipped (failed before): pytest" in day2
    assert "ran: pytest" not in day2
    assert "procedural memories: 3" in out


@pytest.mark.parametrize("name", ["personal_assistant.py", "coding_agent.py"])
def test_examples_default_to_a_temporary_home(name: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.iterdir()) == []
