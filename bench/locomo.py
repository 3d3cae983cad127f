"""LoCoMo evidence-retrieval benchmark for engramdb search.

One memory per dialogue turn ("Speaker: text", plus " [shares image: caption]"), added with
infer=False, timestamp = the session's date, metadata {"dia_id"}; every QA question is searched in
its conversation's scope (user_id = sample_id). Reports evidence recall@5/@10, hit@10 and MRR
per category (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop, 5 adversarial) and overall
for categories 1-4.

    python bench/locomo.py --data ../shared/data/locomo/locomo_dev.json --convs 0-4

The data set (CC BY-NC 4.0) is read from --data and never copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median, print_table, write_json
from engramdb import Memory

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}


def parse_date(text: str) -> datetime:
    """LoCoMo's "1:56 pm on 8 May, 2023" → datetime (naive, taken as UTC)."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")


def parse_range(text: str) -> list[int]:
    """ "0-4" or "0,2,3" → indices."""
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        elif part.strip():
            out.append(int(part))
    return out


def evidence_ids(raw: list[str]) -> set[str]:
    """Evidence lists sometimes hold "D1:3; D1:5" in one string; split and clean them."""
    out: set[str] = set()
    for item in raw:
        for piece in str(item).replace(",", ";").split(";"):
            piece = piece.strip()
            if piece.startswith("D") and ":" in piece:
                out.add(piece)
    return out


def turns(sample: dict[str, Any]) -> list[tuple[datetime, list[dict[str, Any]]]]:
    """(session date, turns) for each session of a conversation, in order."""
    conv = sample["conversation"]
    sessions = []
    n = 1
    while f"session_{n}" in conv:
        sessions.append((parse_date(conv[f"session_{n}_date_time"]), conv[f"session_{n}"]))
        n += 1
    return sessions


def turn_text(turn: dict[str, Any]) -> str:
    """The stored memory for one turn."""
    text = f"{turn['speaker']}: {turn['text']}"
    if turn.get("blip_caption"):
        text += f" [shares image: {turn['blip_caption']}]"
    return text


def ingest(m: Memory, samples: list[dict[str, Any]]) -> tuple[int, float]:
    """Add every turn of every sample; returns (memories, seconds)."""
    count = 0
    start = time.perf_counter()
    for sample in samples:
        for n, (when, session) in enumerate(turns(sample), start=1):
            for turn in session:
                m.add(
                    turn_text(turn),
                    user_id=sample["sample_id"],
                    infer=False,
                    timestamp=when,
                    metadata={"dia_id": turn["dia_id"], "session": n},
                )
                count += 1
    return count, time.perf_counter() - start


def evaluate(m: Memory, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Search every question; aggregate recall@5/@10, hit@10, MRR per category."""
    per_cat: dict[int, dict[str, list[float]]] = {}
    latencies: list[float] = []
    for sample in samples:
        for qa in sample["qa"]:
            gold = evidence_ids(qa.get("evidence", []))
            if not gold:
                continue
            t = time.perf_counter()
            hits = m.search(qa["question"], user_id=sample["sample_id"], limit=10)["results"]
            latencies.append((time.perf_counter() - t) * 1000)
            ranked = [h["metadata"].get("dia_id") for h in hits]
            r5 = len(gold & set(ranked[:5])) / len(gold)
            r10 = len(gold & set(ranked[:10])) / len(gold)
            first = next((i for i, d in enumerate(ranked) if d in gold), None)
            stats = per_cat.setdefault(
                qa["category"], {"recall@5": [], "recall@10": [], "hit@10": [], "mrr": []}
            )
            stats["recall@5"].append(r5)
            stats["recall@10"].append(r10)
            stats["hit@10"].append(1.0 if first is not None else 0.0)
            stats["mrr"].append(0.0 if first is None else 1.0 / (first + 1))
    out: dict[str, Any] = {"categories": {}, "search_ms_p50": median(latencies)}
    overall: dict[str, list[float]] = {"recall@5": [], "recall@10": [], "hit@10": [], "mrr": []}
    for cat in sorted(per_cat):
        stats = per_cat[cat]
        out["categories"][CATEGORIES.get(cat, str(cat))] = {
            "n": len(stats["mrr"]),
            **{k: sum(v) / len(v) for k, v in stats.items()},
        }
        if cat in (1, 2, 3, 4):
            for k, v in stats.items():
                overall[k].extend(v)
    out["overall_1_4"] = {
        "n": len(overall["mrr"]),
        **{k: sum(v) / len(v) for k, v in overall.items()},
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", required=True, help="path to locomo_dev.json (or locomo10.json)")
    ap.add_argument("--convs", default="0-4", help="conversation indices, e.g. 0-4 or 0,2")
    ap.add_argument("--json", default="bench/results/locomo.json", help="where to write results")
    ap.add_argument(
        "--retrieval",
        action="append",
        default=[],
        help="retrieval config as JSON (repeatable, compared in one run), "
        'e.g. \'{"preset": "vector"}\'',
    )
    args = ap.parse_args()
    data = json.loads(Path(args.data).read_text())
    samples = [data[i] for i in parse_range(args.convs)]
    variants = [json.loads(r) for r in args.retrieval] or [{}]
    with tempfile.TemporaryDirectory() as home:
        base = Memory(path=home)
        count, secs = ingest(base, samples)
        print(f"ingested {count} turns in {secs:.1f} s ({count / secs:.0f}/s, one add() per turn)")
        results = []
        for variant in variants:
            m = Memory(config={"retrieval": variant}, store=base.store, embedder=base.embedder)
            res = evaluate(m, samples)
            res["retrieval"] = variant
            results.append(res)
            rows = [
                [name, s["n"], s["recall@5"], s["recall@10"], s["hit@10"], s["mrr"]]
                for name, s in [*res["categories"].items(), ("overall 1-4", res["overall_1_4"])]
            ]
            print_table(
                f"LoCoMo evidence retrieval, retrieval={json.dumps(variant)} "
                f"(search p50 {res['search_ms_p50']:.1f} ms)",
                ["category", "n", "recall@5", "recall@10", "hit@10", "MRR"],
                rows,
            )
        base.close()
    write_json(
        args.json,
        {
            "benchmark": "locomo",
            "convs": args.convs,
            "memories": count,
            "ingest_s": secs,
            "runs": results,
        },
    )


if __name__ == "__main__":
    main()
