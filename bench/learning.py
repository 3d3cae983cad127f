"""Learning from outcomes: does an agent stop repeating failures it has recorded, and does
``not_useful`` feedback lower a result only for the queries it was given for?

Part 1, scripted agent loop (bench/learning_tasks.py: 36 tasks with known failure causes).
Each round the agent attempts every task once (shuffled; rounds after the first use the task's
second phrasing). Before an attempt the "with lessons" agent calls ``m.lessons(task)`` and,
for each failure lesson whose cause it has a repair skill for, takes that precaution; the
"without" agent takes none. Success or failure comes from the task's own preconditions, never
from the lessons. Both agents record every episode with ``memory_type="experience"``. A
*repeated failure from a recorded cause* is a failure whose cause already failed that same task
in an earlier round.

Part 2, LoCoMo retrieval (--data; read there, never copied). For questions of one
conversation: search, give ``not_useful`` on the top hit with the question as query (each trial
on a fresh copy of the store), then report the hit's rank for the same question, a paraphrase,
and the conversation's other questions that retrieved it, split by the cosine of the queries
as searched (``engramdb.retrieve.search.search_text``), which is what feedback compares.

    python bench/learning.py --data /work/shared/data/locomo/locomo_dev.json
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table, write_json
from engramdb import Memory
from engramdb.config import RetrievalConfig
from engramdb.embed.local import LocalEmbedder
from engramdb.models import Scope
from engramdb.retrieve.search import search_text
from learning_tasks import TASKS, Task, precautions_for
from locomo import evidence_ids, ingest

AGENT = "bench-agent"


def run_agent(m: Memory, rounds: int, use_lessons: bool, seed: int) -> dict[str, Any]:
    """Run the loop; per round: attempts, failures, repeated failures from a recorded cause."""
    rng = random.Random(seed)
    failed_causes: dict[str, set[str]] = {t.name: set() for t in TASKS}
    per_round = []
    precautions_taken = 0
    for r in range(rounds):
        order: list[Task] = list(TASKS)
        rng.shuffle(order)
        fails = repeated = 0
        for task in order:
            phrasing = task.name if r == 0 else task.paraphrase
            taken: set[str] = set()
            if use_lessons:
                for lesson in m.lessons(phrasing, agent_id=AGENT, limit=5)["results"]:
                    if lesson["evidence"]["failures"] and lesson["cause"]:
                        taken |= precautions_for(lesson["cause"])
            precautions_taken += len(taken)
            ok, output = task.attempt(taken, rng)
            plan = "; ".join(sorted(taken)) or "no special precautions"
            m.add(
                [
                    {"role": "user", "content": phrasing},
                    {"role": "assistant", "content": f"Plan: {plan}. Running the job."},
                    {"role": "tool", "content": output},
                ],
                agent_id=AGENT,
                memory_type="experience",
                outcome="success" if ok else "failure",
            )
            if not ok:
                fails += 1
                cause = next(c.error for c in task.causes if c.error in output)
                if cause in failed_causes[task.name]:
                    repeated += 1
                failed_causes[task.name].add(cause)
        per_round.append(
            {
                "round": r + 1,
                "attempts": len(order),
                "failures": fails,
                "repeated_recorded_cause": repeated,
            }
        )
    later = per_round[1:]
    attempts = sum(x["attempts"] for x in later)
    return {
        "rounds": per_round,
        "repeat_attempts": attempts,
        "repeat_failures": sum(x["failures"] for x in later),
        "repeat_failure_rate": sum(x["failures"] for x in later) / attempts if attempts else 0.0,
        "repeated_recorded_cause": sum(x["repeated_recorded_cause"] for x in per_round),
        "precautions_per_attempt": precautions_taken / (rounds * len(TASKS)),
        "lessons_stored": len(
            m.get_all(agent_id=AGENT, filters={"memory_type": "experience"}, limit=10_000)[
                "results"
            ]
        ),
    }


def part1(rounds: int, seed: int, embedder: LocalEmbedder) -> dict[str, Any]:
    out = {}
    for name, use in (("without lessons", False), ("with lessons", True)):
        with tempfile.TemporaryDirectory() as home, Memory(path=home, embedder=embedder) as m:
            out[name] = run_agent(m, rounds, use, seed)
    base, learned = out["without lessons"], out["with lessons"]
    drop = 1 - learned["repeated_recorded_cause"] / max(1, base["repeated_recorded_cause"])
    rows = [
        [
            name,
            r["repeat_attempts"],
            r["repeat_failures"],
            r["repeat_failure_rate"],
            r["repeated_recorded_cause"],
            r["precautions_per_attempt"],
            r["lessons_stored"],
        ]
        for name, r in out.items()
    ]
    print_table(
        f"Scripted agent, {len(TASKS)} tasks x {rounds} rounds (offline extractor): repeated "
        f"failures from a recorded cause drop by {drop:.0%} (target >= 80%)",
        [
            "agent",
            "repeat attempts",
            "failures",
            "failure rate",
            "repeated recorded cause",
            "precautions/attempt",
            "lessons stored",
        ],
        rows,
    )
    per_round = [
        [r, base["rounds"][r - 1]["failures"], learned["rounds"][r - 1]["failures"]]
        for r in range(1, rounds + 1)
    ]
    print_table("Failures per round", ["round", "without", "with lessons"], per_round)
    return {**out, "repeated_cause_drop": drop}


# -- part 2: LoCoMo ----------------------------------------------------------------------

_SWAPS = [
    ("When did", "At what time did"),
    ("What did", "What was it that"),
    ("What is", "What's"),
    ("How many", "What number of"),
    ("Where did", "In which place did"),
    ("Who ", "Which person "),
    ("Why did", "For what reason did"),
    ("What are", "Which are"),
]


def paraphrase(question: str) -> str:
    """A rule-based rewording (no LLM): swap the question opener, ask it indirectly."""
    q = question.strip()
    for a, b in _SWAPS:
        if q.startswith(a):
            q = b + q[len(a) :]
            break
    return "Could you tell me: " + q[0].lower() + q[1:]


def rank(m: Memory, query: str, user: str, memory_id: str, limit: int = 30) -> int:
    ids = [h["id"] for h in m.search(query, user_id=user, limit=limit)["results"]]
    return ids.index(memory_id) + 1 if memory_id in ids else limit + 1


def part2(
    data: Path, conv: int, trials: int, embedder: LocalEmbedder, similarity: float
) -> dict[str, Any]:
    sample = json.loads(data.read_text())[conv]
    user = sample["sample_id"]
    questions = [
        qa["question"]
        for qa in sample["qa"]
        if qa.get("category") in (1, 2, 3, 4) and evidence_ids(qa.get("evidence", []))
    ]
    kinds: dict[str, list[tuple[int, int]]] = {
        "same query": [],
        "paraphrase": [],
        f"other question, cos >= {similarity}": [],
        f"other question, cos < {similarity}": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        base_dir = Path(tmp) / "base"
        with Memory(path=base_dir, embedder=embedder) as base:
            ingest(base, [sample])
            # Feedback compares the queries as searched (without the speakers' names, which
            # are on most turns), so the other questions are split by that cosine.
            scope = Scope(user_id=user, tenant=base.tenant)
            searched = [
                search_text(q, base._entities(q, scope), base.config.retrieval) for q in questions
            ]
            vecs = np.asarray(embedder.embed(searched))
            before_top = {
                q: [h["id"] for h in base.search(q, user_id=user, limit=30)["results"]]
                for q in questions
            }
        step = max(1, len(questions) // trials)
        for qi in range(0, len(questions), step)[:trials]:
            q = questions[qi]
            target = before_top[q][0]
            para = paraphrase(q)
            others = [
                j for j, o in enumerate(questions) if j != qi and target in before_top[o][:10]
            ]
            trial_dir = Path(tmp) / "trial"
            shutil.rmtree(trial_dir, ignore_errors=True)
            shutil.copytree(base_dir, trial_dir)
            cfg = {"retrieval": {"feedback_similarity": similarity}}
            with Memory(path=trial_dir, embedder=embedder, config=cfg) as m:
                para_before = rank(m, para, user, target)
                m.feedback(target, "not_useful", query=q)
                kinds["same query"].append((1, rank(m, q, user, target)))
                kinds["paraphrase"].append((para_before, rank(m, para, user, target)))
                for j in others:
                    cos = float(vecs[qi] @ vecs[j])
                    key = f"other question, cos {'>=' if cos >= similarity else '<'} {similarity}"
                    kinds[key].append(
                        (
                            before_top[questions[j]].index(target) + 1,
                            rank(m, questions[j], user, target),
                        )
                    )
    rows, out = [], {}
    for kind, pairs in kinds.items():
        n = len(pairs)
        dropped = sum(after > b for b, after in pairs)
        same = sum(after == b for b, after in pairs)
        mean_b = sum(b for b, _ in pairs) / n if n else float("nan")
        mean_a = sum(a for _, a in pairs) / n if n else float("nan")
        rows.append([kind, n, mean_b, mean_a, dropped / n if n else 0.0, same / n if n else 0.0])
        out[kind] = {
            "n": n,
            "mean_rank_before": mean_b,
            "mean_rank_after": mean_a,
            "dropped": dropped,
            "unchanged": same,
        }
    print_table(
        f"LoCoMo conv {conv}: rank of a top hit after one not_useful for its question",
        ["query", "n", "mean rank before", "mean rank after", "share dropped", "share unchanged"],
        rows,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", help="path to locomo_dev.json (part 2 is skipped without it)")
    ap.add_argument("--conv", type=int, default=0, help="LoCoMo conversation index")
    ap.add_argument("--trials", type=int, default=30, help="questions given feedback")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--feedback-similarity",
        type=float,
        default=RetrievalConfig().feedback_similarity,
        help="RetrievalConfig.feedback_similarity for part 2",
    )
    ap.add_argument("--skip-agent", action="store_true", help="run part 2 only")
    ap.add_argument("--json", default="bench/results/learning.json")
    args = ap.parse_args()
    embedder = LocalEmbedder()
    result: dict[str, Any] = {"benchmark": "learning", "tasks": len(TASKS), "rounds": args.rounds}
    if not args.skip_agent:
        result["agent"] = part1(args.rounds, args.seed, embedder)
    if args.data:
        result["locomo_feedback"] = part2(
            Path(args.data), args.conv, args.trials, embedder, args.feedback_similarity
        )
    write_json(args.json, result)


if __name__ == "__main__":
    main()
