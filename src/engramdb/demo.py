"""``engramdb demo``: three chat sessions with one user, then a few searches over them.

Runs offline in a few seconds. The same code is usable from Python::

    from engramdb import Memory
    from engramdb.demo import run_demo

    with Memory(path="/tmp/engram-demo") as m:
        result = run_demo(m)
    result["searches"][0]["results"][0]["memory"]
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from engramdb.memory import Memory

DEMO_USER = "demo-user"

#: Three sessions on different dates; the third one changes a fact (the city) and adds others.
SESSIONS: list[dict[str, Any]] = [
    {
        "timestamp": "2024-03-02T10:15:00Z",
        "messages": [
            ("user", "Hi! I just moved into a small flat in Lisbon, close to the Alfama district."),
            ("assistant", "Welcome to Lisbon! How are you settling in?"),
            ("user", "Pretty well. I work as a data engineer at a fintech startup, mostly remote."),
            ("assistant", "Remote work must have made the move easier."),
            ("user", "It did. My cat Miso already loves the sunny balcony."),
            ("assistant", "Miso sounds happy. Cats love a warm spot."),
        ],
    },
    {
        "timestamp": "2024-04-14T19:40:00Z",
        "messages": [
            ("user", "I'm vegetarian now, but I still can't stand mushrooms."),
            ("assistant", "Noted: vegetarian, no mushrooms. Any favourite dishes?"),
            ("user", "Spicy Thai curries and anything with chickpeas."),
            ("user", "Also, I'm planning a two-week trip to Japan in October: Kyoto and Osaka."),
            ("assistant", "October is a lovely time for the temples in Kyoto."),
        ],
    },
    {
        "timestamp": "2024-09-03T08:05:00Z",
        "messages": [
            ("user", "Big news: I relocated to Berlin last month for a new job."),
            ("assistant", "Congratulations! What is the new role?"),
            ("user", "I'm a staff engineer at a climate-tech company now."),
            ("user", "Miso handled the move fine, and we adopted a second cat called Tofu."),
            ("user", "The Japan trip is still on, but I pushed it to November."),
            ("assistant", "Kyoto in November means autumn leaves. Enjoy!"),
        ],
    },
]

QUERIES = [
    "Where does the user live now?",
    "What does the user do for work?",
    "What pets does the user have?",
    "What should I cook for them tonight?",
    "When is the trip to Japan?",
]


def load(memory: Memory, *, infer: bool = True) -> dict[str, Any]:
    """Store the demo sessions for :data:`DEMO_USER` (after clearing that user's memories)."""
    memory.delete_all(user_id=DEMO_USER)
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    turns = 0
    for session in SESSIONS:
        messages = [{"role": role, "content": text} for role, text in session["messages"]]
        turns += len(messages)
        out = memory.add(messages, user_id=DEMO_USER, infer=infer, timestamp=session["timestamp"])
        results.extend(out["results"])
    return {
        "sessions": len(SESSIONS),
        "turns": turns,
        "events": results,
        "memories": len(memory.get_all(user_id=DEMO_USER, limit=1000)["results"]),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def ask(
    memory: Memory, queries: list[str] | None = None, *, limit: int = 3
) -> list[dict[str, Any]]:
    """Run each query scoped to :data:`DEMO_USER`; return the hits and the time taken."""
    out = []
    for query in queries or QUERIES:
        started = time.perf_counter()
        hits = memory.search(query, user_id=DEMO_USER, limit=limit)["results"]
        ms = (time.perf_counter() - started) * 1000
        out.append({"query": query, "ms": round(ms, 2), "results": hits})
    return out


def run_demo(memory: Memory, *, limit: int = 3, infer: bool = True) -> dict[str, Any]:
    """Store the sessions, run the searches, and return everything as one dict."""
    stored = load(memory, infer=infer)
    return {
        "user_id": DEMO_USER,
        "embedder": memory.embedder.name,
        "stored": stored,
        "searches": ask(memory, limit=limit),
    }


def render(console: Console, result: dict[str, Any], *, home: str | None = None) -> None:
    """Print a demo result as rich tables."""
    from rich.markup import escape
    from rich.table import Table

    stored = result["stored"]
    console.print(
        f"[bold]engramdb demo[/bold]: {stored['sessions']} sessions, {stored['turns']} turns "
        f"-> {stored['memories']} memories for [cyan]{result['user_id']}[/cyan] "
        f"in {stored['ms']:.0f} ms (embedder {result['embedder']})"
    )
    events: dict[str, int] = {}
    for item in stored["events"]:
        events[item.get("event", "?")] = events.get(item.get("event", "?"), 0) + 1
    console.print(
        "[dim]events: " + ", ".join(f"{n} {name}" for name, n in sorted(events.items())) + "[/dim]"
    )
    if home:
        console.print(f"[dim]data: {home}[/dim]")
    chat = Table.grid(padding=(0, 2))
    chat.add_column(style="dim", no_wrap=True)
    chat.add_column(justify="right", no_wrap=True)
    chat.add_column(ratio=1)
    for session in SESSIONS:
        day = session["timestamp"][:10]
        for role, text in session["messages"]:
            style = "green" if role == "user" else "blue"
            chat.add_row(day, f"[{style}]{role}[/{style}]", escape(text))
            day = ""
    console.print(chat)
    for search in result["searches"]:
        table = Table(
            title=f"[bold]{search['query']}[/bold]  [dim]{search['ms']:.1f} ms[/dim]",
            title_justify="left",
            expand=True,
        )
        table.add_column("#", justify="right", width=2)
        table.add_column("score", justify="right", width=6)
        table.add_column("sim", justify="right", width=6)
        table.add_column("date", width=10)
        table.add_column("memory", ratio=1)
        for rank, hit in enumerate(search["results"], start=1):
            table.add_row(
                str(rank),
                f"{hit['score']:.3f}",
                f"{hit['similarity']:.3f}",
                (hit.get("valid_at") or hit["created_at"])[:10],
                escape(hit["memory"]),
            )
        console.print(table)
