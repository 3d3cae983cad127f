"""The README's examples run, and say what they really return."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import engramdb

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _block_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_quickstart_runs_and_its_comments_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGRAMDB_HOME", str(tmp_path))
    code = _block_after("## Quickstart")
    namespace: dict[str, object] = {}
    exec(compile(code, "README quickstart", "exec"), namespace)
    m = namespace["m"]
    assert isinstance(m, engramdb.Memory)
    hits = namespace["hits"]
    assert isinstance(hits, list)
    expected = re.search(r"hits\[0\]\[\"memory\"\]\s+# '([^']+)'", code)
    assert expected is not None
    assert hits[0]["memory"] == expected.group(1)
    current = [r["memory"] for r in m.get_all(user_id="alice")["results"]]
    assert not any("Berlin" in text for text in current)
    events = [h["event"] for h in m.history(hits[0]["id"])]
    assert events == ["ADD"]
    m.close()


def test_every_exported_name_is_in_the_readme_or_is_an_error() -> None:
    for name in engramdb.__all__:
        if name.startswith("__"):
            continue
        assert name in README or name.endswith("Error"), f"{name} is not documented in README"


def test_learning_example_runs_and_its_comments_hold(tmp_path: Path) -> None:
    code = _block_after("## Learning from outcomes").replace("./agent-data", str(tmp_path))
    namespace: dict[str, object] = {}
    exec(compile(code, "README learning", "exec"), namespace)
    lesson = namespace["lesson"]
    assert isinstance(lesson, dict)
    assert lesson["cause"] == "environment variable DATABASE_URL is not set"
    assert lesson["evidence"]["failures"] == 1
    m = namespace["m"]
    assert isinstance(m, engramdb.Memory)
    assert [e["event"] for e in m.history(lesson["id"])] == ["ADD", "FEEDBACK"]
    m.close()


def test_time_and_lifecycle_example_runs_and_its_comments_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _block_after("## Time, lifecycle and forgetting").replace(
        "/tmp/engram-time", str(tmp_path / "time")
    )
    namespace: dict[str, object] = {}
    exec(compile(code, "README time example", "exec"), namespace)
    for expr, shown in re.findall(r"^(\S[^\n#]*?)\s+# ('[^']*'|\d+)", code, re.M):
        if "=" in expr.split("[")[0]:
            continue
        assert repr(eval(expr, namespace)) == shown, expr
    assert len(namespace["everything"]) == 2  # type: ignore[arg-type]


def test_graph_memory_example_runs_and_its_comments_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = _block_after("## Graph memory")
    namespace: dict[str, object] = {}
    exec(compile(code, "README graph memory", "exec"), namespace)
    assert namespace["edges"] == [("Caroline", "from", "Sweden"), ("Caroline", "sibling", "Tom")]
    assert namespace["places"] == {"New York City": 2, "Sweden": 1}


def test_context_block_example_prints_what_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = _block_after("### Context blocks")
    namespace: dict[str, object] = {}
    exec(compile(code, "README context blocks", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    promised = [line.removeprefix("# ") for line in code.splitlines() if line.startswith("# ")]
    assert printed == promised
    block = namespace["block"]
    assert isinstance(block, dict)
    claim = re.search(r"# \((\d+), (\d+)\)", code)
    assert claim is not None
    assert (block["tokens"], len(block["memories"])) == (int(claim[1]), int(claim[2]))
    m = namespace["m"]
    assert isinstance(m, engramdb.Memory)
    m.close()
