"""A personal assistant that remembers preferences across sessions (offline, no API key).

    python examples/personal_assistant.py [--home DIR]

Session 1 tells the assistant a few things; the process "restarts" (the Memory is closed and
opened again on the same directory); session 2 asks for a dinner suggestion, and the assistant
gets the relevant memories in its prompt. The "LLM" here is a small Python function so the
example runs anywhere; swap in any chat-completion call with the same signature.
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from engramdb import Memory
from engramdb.integrations.chat import with_memory

USER = "alice"


def assistant(messages: list[dict[str, Any]]) -> str:
    """A stand-in for an LLM: it answers from the memory block engramdb put in its prompt."""
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    known = [line.split("] ", 1)[-1] for line in system.splitlines() if line.startswith("- ")]
    if not known:
        return "Noted!"
    return "Keeping in mind: " + "; ".join(known)


def session(home: str, turns: list[str]) -> None:
    with Memory(path=home) as memory:  # a new process would do exactly this
        chat = with_memory(assistant, memory, user_id=USER, max_tokens=200)  # the 3 lines
        for text in turns:
            print(f"  user> {text}")
            print(f"  bot > {chat(text)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data directory (default: a temporary one)")
    args = parser.parse_args()
    if args.home:
        run(args.home)
    else:
        with tempfile.TemporaryDirectory(prefix="engramdb-assistant-") as home:
            run(home)


def run(home: str) -> None:
    """The whole example, with its store in ``home``."""
    print("session 1")
    session(
        home,
        [
            "I'm vegetarian and I can't stand mushrooms.",
            "I live in Lisbon.",
            "My favourite cuisine is Thai food.",
        ],
    )
    print("session 2 (new Memory on the same store)")
    session(home, ["Can you suggest a restaurant for dinner tonight? Vegetarian Thai food?"])

    with Memory(path=home) as memory:
        remembered = sorted(r["memory"] for r in memory.get_all(user_id=USER)["results"])
    print(f"remembered about {USER}: {len(remembered)} memories")
    for text in remembered:
        print(f"  - {text}")


if __name__ == "__main__":
    main()
