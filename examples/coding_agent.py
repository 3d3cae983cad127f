"""A coding agent that records what worked and what failed, and looks it up before a task.

    python examples/coding_agent.py [--home DIR]

Lessons are procedural memories of the agent (``agent_id``, ``memory_type="procedural"``)
with the outcome in their metadata. Before each task the agent searches them; a lesson that
failed before is avoided, one that worked is reused. The "agent" is scripted so the example
runs offline in a second; in a real agent the lessons go into the LLM's prompt.
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from engramdb import Memory

AGENT = "coder"
REPO = "payments-service"  # lessons are per repository: run_id scopes them


def lessons(memory: Memory, task: str) -> list[dict[str, Any]]:
    """Procedural memories relevant to ``task``, best first."""
    return memory.search(
        task,
        agent_id=AGENT,
        run_id=REPO,
        filters={"memory_type": "procedural"},
        limit=3,
        threshold=0.2,
    )["results"]


def record(memory: Memory, task: str, command: str, outcome: str, why: str) -> None:
    lesson = f"To {task}: `{command}` {why}."
    memory.add(
        lesson,
        agent_id=AGENT,
        run_id=REPO,
        infer=False,
        memory_type="procedural",
        metadata={"outcome": outcome, "command": command, "task": task},
    )
    print(f"  recorded ({outcome}): {lesson}")


def do_task(memory: Memory, task: str, attempts: list[tuple[str, bool]]) -> None:
    """Try ``attempts`` (command, does it succeed?) in order, skipping known failures."""
    print(f"task: {task}")
    found = lessons(memory, task)
    for hit in found:
        print(f"  lesson ({hit['metadata']['outcome']}): {hit['memory']}")
    failed = {h["metadata"]["command"] for h in found if h["metadata"]["outcome"] == "failed"}
    for command, ok in attempts:
        if command in failed:
            print(f"  skipped (failed before): {command}")
            continue
        if ok:
            print(f"  ran: {command} -> ok")
            record(memory, task, command, "worked", "works")
            return
        print(f"  ran: {command} -> failed")
        record(memory, task, command, "failed", "fails (the dev extras are not installed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data directory (default: a temporary one)")
    args = parser.parse_args()
    if args.home:
        run(args.home)
    else:
        with tempfile.TemporaryDirectory(prefix="engramdb-coder-") as home:
            run(home)


def run(home: str) -> None:
    """The whole example, with its store in ``home``."""
    with Memory(path=home) as memory:
        # Day 1: the agent finds out the hard way.
        do_task(memory, "run the test suite", [("pytest", False), ("make test", True)])
        # Day 2: a similar task; the lessons come first, so it does not repeat the failure.
        do_task(memory, "run the tests before a release", [("pytest", False), ("make test", True)])
        total = len(memory.get_all(agent_id=AGENT, run_id=REPO)["results"])
        print(f"procedural memories: {total}")


if __name__ == "__main__":
    main()
