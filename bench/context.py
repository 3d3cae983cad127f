"""Context blocks on LoCoMo: how small is the block, and does it hold the evidence?

Conversations are ingested as bench/locomo.py does (one memory per turn, infer=False, the
session date as timestamp). For every QA question with evidence, ``Memory.context(question,
user_id=sample, max_tokens=B)`` is built for each budget B. Reported per budget:

- tokens: the block's tokens, and the ratio to the full conversation's tokens. The full
  conversation is rendered the way the block renders memories (one "- [date] Speaker: text"
  line per turn, under the same heading) and counted with the same counter, so the ratio
  compares like with like.
- hit: the share of questions with at least one evidence turn in the block;
  full: the share with every evidence turn in it.

    python bench/context.py --data ../shared/data/locomo/locomo_dev.json --convs 0-4
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, print_table, write_json
from engramdb import Memory
from engramdb.retrieve.context import HEADER, estimate_tokens
from locomo import CATEGORIES, evidence_ids, ingest, parse_range, turn_text, turns


def full_history(sample: dict[str, Any]) -> str:
    """The whole conversation as dated lines, as a context block would write them."""
    lines = [HEADER]
    for when, session in turns(sample):
        day = when.date().isoformat()
        lines += [f"- [{day}] {' '.join(turn_text(t).split())}" for t in session]
    return "\n".join(lines)


def dia_ids(m: Memory, user_id: str) -> dict[str, str]:
    """memory id → LoCoMo dialogue id, for one conversation."""
    found = m.get_all(user_id=user_id, limit=10_000)["results"]
    return {r["id"]: r["metadata"]["dia_id"] for r in found}


def evaluate(m: Memory, samples: list[dict[str, Any]], budget: int, limit: int) -> dict[str, Any]:
    """Build one block per question at ``budget``; aggregate size and evidence coverage."""
    per_cat: dict[int, dict[str, list[float]]] = {}
    latencies: list[float] = []
    for sample in samples:
        user = sample["sample_id"]
        full = estimate_tokens(full_history(sample))
        ids = dia_ids(m, user)
        for qa in sample["qa"]:
            gold = evidence_ids(qa.get("evidence", []))
            if not gold:
                continue
            t = time.perf_counter()
            block = m.context(qa["question"], user_id=user, max_tokens=budget, limit=limit)
            latencies.append((time.perf_counter() - t) * 1000)
            shown = {ids[i] for i in block["memories"] if i in ids}
            stats = per_cat.setdefault(
                qa["category"], {"tokens": [], "ratio": [], "hit": [], "full": []}
            )
            stats["tokens"].append(block["tokens"])
            stats["ratio"].append(block["tokens"] / full)
            stats["hit"].append(1.0 if gold & shown else 0.0)
            stats["full"].append(1.0 if gold <= shown else 0.0)
    out: dict[str, Any] = {"budget": budget, "categories": {}, "context_ms_p50": median(latencies)}
    overall: dict[str, list[float]] = {"tokens": [], "ratio": [], "hit": [], "full": []}
    for cat in sorted(per_cat):
        stats = per_cat[cat]
        out["categories"][CATEGORIES.get(cat, str(cat))] = {
            "n": len(stats["hit"]),
            **{k: sum(v) / len(v) for k, v in stats.items()},
        }
        if cat in (1, 2, 3, 4):
            for k, v in stats.items():
                overall[k].extend(v)
    out["overall_1_4"] = {
        "n": len(overall["hit"]),
        **{k: sum(v) / len(v) for k, v in overall.items()},
        "ratio_max": max(overall["ratio"]),
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", required=True, help="path to locomo_dev.json (or locomo10.json)")
    ap.add_argument("--convs", default="0-4", help="conversation indices, e.g. 0-4 or 0,2")
    ap.add_argument(
        "--budgets", default="500,1000,2000,4000", help="token budgets, comma-separated"
    )
    ap.add_argument("--limit", type=int, default=300, help="search hits considered per block")
    ap.add_argument(
        "--retrieval", default="{}", help="retrieval config as JSON, as in bench/locomo.py"
    )
    ap.add_argument("--json", default="bench/results/context.json", help="where to write results")
    args = ap.parse_args()
    data = json.loads(Path(args.data).read_text())
    samples = [data[i] for i in parse_range(args.convs)]
    budgets = [int(b) for b in args.budgets.split(",") if b.strip()]
    full_tokens = {s["sample_id"]: estimate_tokens(full_history(s)) for s in samples}
    with tempfile.TemporaryDirectory() as home:
        base = Memory(path=home)
        count, secs = ingest(base, samples)
        print(f"ingested {count} turns in {secs:.1f} s")
        m = Memory(
            config={"retrieval": json.loads(args.retrieval)},
            store=base.store,
            embedder=base.embedder,
        )
        runs = [evaluate(m, samples, b, args.limit) for b in budgets]
        base.close()
    print(
        "full conversation tokens: "
        + ", ".join(f"{k} {v}" for k, v in full_tokens.items())
        + f" (median {median([float(v) for v in full_tokens.values()]):.0f})"
    )
    rows = [
        [
            r["budget"],
            r["overall_1_4"]["n"],
            r["overall_1_4"]["tokens"],
            r["overall_1_4"]["ratio"],
            r["overall_1_4"]["ratio_max"],
            r["overall_1_4"]["hit"],
            r["overall_1_4"]["full"],
            r["categories"].get("temporal", {}).get("hit", float("nan")),
            r["context_ms_p50"],
        ]
        for r in runs
    ]
    print_table(
        "LoCoMo context blocks, categories 1-4 (ratio = block tokens / full conversation tokens)",
        [
            "budget",
            "n",
            "tokens",
            "ratio",
            "max",
            "hit",
            "all ev.",
            "temp. hit",
            "ms p50",
        ],
        rows,
    )
    write_json(
        args.json,
        {
            "benchmark": "locomo-context",
            "convs": args.convs,
            "memories": count,
            "full_tokens": full_tokens,
            "counter": "engramdb.retrieve.context.estimate_tokens",
            "retrieval": json.loads(args.retrieval),
            "limit": args.limit,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
