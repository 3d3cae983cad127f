"""Precision/recall of the offline fact extractor on a hand-labelled chat set, and whether
supersede sequences end in the right memory state under the offline reconciler.

    .venv/bin/python bench/extraction.py [--data FILE ...] [--json OUT] [--verbose]

With several ``--data`` files (``--data a.jsonl b.jsonl`` or ``--data a --data b``) it prints
one summary row per set; with one it prints the per-category table of that set.

A predicted fact counts as correct when its (subject, attribute, normalised value) equals a
labelled one; subjects default to "user". Values are normalised by lowercasing and dropping
articles and punctuation, nothing looser.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engramdb.ingest.forget import extract_forget_requests
from engramdb.ingest.heuristics import extract_facts
from engramdb.ingest.ops import Existing, Fact
from engramdb.ingest.reconcile_offline import reconcile
from engramdb.timeutil import to_datetime

HERE = Path(__file__).parent
Key = tuple[str, str, str]


def norm(value: str | None) -> str:
    """Lowercase, no articles, no punctuation."""
    words = re.findall(r"[a-z0-9/']+", (value or "").lower())
    return " ".join(w for w in words if w not in ("a", "an", "the"))


def category(attribute: str) -> str:
    """The report row of an attribute ("preference:coffee" -> "preference")."""
    return attribute.split(":", 1)[0]


def fact_key(f: Fact) -> Key:
    return (f.subject.lower(), f.attribute or "", norm(f.value))


def label_key(e: dict[str, Any]) -> Key:
    return (str(e.get("subject", "user")).lower(), e["attribute"], norm(e.get("value")))


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def row(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": p, "recall": r}


@dataclass
class Store:
    """The memories one supersede group has built up, as the reconciler sees them."""

    items: dict[int, tuple[Existing, str | None]] = field(default_factory=dict)
    next_ref: int = 1

    def existing(self) -> list[Existing]:
        return [e for e, _ in self.items.values()]

    def add(self, fact: Fact) -> None:
        extra = {"value": fact.value} if fact.value is not None else {}
        ex = Existing(self.next_ref, fact.text, fact.attribute, fact.subject, extra=extra)
        self.items[self.next_ref] = (ex, fact.value)
        self.next_ref += 1

    def state(self) -> set[tuple[str, str]]:
        return {(e.attribute or "", norm(v)) for e, v in self.items.values()}


def run_groups(rows: list[dict[str, Any]]) -> tuple[int, int, list[dict[str, Any]]]:
    """Replay each supersede group through extract -> reconcile -> apply."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("supersede_group"):
            groups.setdefault(row["supersede_group"], []).append(row)
    held, details = 0, []
    for name, members in groups.items():
        store = Store()
        for row in members:
            at = to_datetime(row["timestamp"])
            facts = extract_facts(row["text"], role=row["role"], timestamp=at)
            forget = extract_forget_requests(row["text"], role=row["role"])
            for d in reconcile(facts, store.existing(), forget=forget):
                if d.op == "DELETE" and d.target is not None:
                    store.items.pop(d.target, None)
                elif d.op == "SUPERSEDE" and d.fact is not None and d.target is not None:
                    store.items.pop(d.target, None)
                    store.add(d.fact)
                elif d.op == "ADD" and d.fact is not None:
                    store.add(d.fact)
        want = {(s["attribute"], norm(s["value"])) for s in members[-1].get("final_state", [])}
        ok = store.state() == want
        held += ok
        details.append(
            {"group": name, "ok": ok, "state": sorted(store.state()), "want": sorted(want)}
        )
    return held, len(groups), details


def evaluate(rows: list[dict[str, Any]], verbose: bool) -> dict[str, Any]:
    per: dict[str, Tally] = {}
    overall = Tally()
    empty_ok = empty_total = 0
    errors: list[dict[str, Any]] = []
    for row in rows:
        at = to_datetime(row["timestamp"])
        got = Counter(
            fact_key(f) for f in extract_facts(row["text"], role=row["role"], timestamp=at)
        )
        want = Counter(label_key(e) for e in row["expected"])
        if not want:
            empty_total += 1
            empty_ok += not got
        for key in set(got) | set(want):
            tp = min(got[key], want[key])
            tally = per.setdefault(category(key[1]), Tally())
            for t in (tally, overall):
                t.tp += tp
                t.fp += got[key] - tp
                t.fn += want[key] - tp
        if got != want:
            errors.append(
                {"text": row["text"], "extra": sorted(got - want), "missed": sorted(want - got)}
            )
    held, total, groups = run_groups(rows)
    report = {
        "messages": len(rows),
        "overall": overall.row(),
        "per_category": {k: v.row() for k, v in sorted(per.items())},
        "no_fact_messages": {"total": empty_total, "clean": empty_ok},
        "supersede_groups": {"total": total, "held": held, "details": groups},
        "errors": errors,
    }
    if verbose:
        for e in errors:
            print(f"- {e['text']}\n    extra:  {e['extra']}\n    missed: {e['missed']}")
    return report


def print_table(report: dict[str, Any]) -> None:
    print(f"{'category':<22}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}")
    rows = [*report["per_category"].items(), ("OVERALL", report["overall"])]
    for name, r in rows:
        print(
            f"{name:<22}{r['tp']:>5}{r['fp']:>5}{r['fn']:>5}"
            f"{r['precision']:>11.3f}{r['recall']:>8.3f}"
        )
    nf, sg = report["no_fact_messages"], report["supersede_groups"]
    clean = f"{nf['clean']}/{nf['total']}"
    print(f"\nmessages: {report['messages']}; no-fact messages left clean: {clean}")
    print(f"supersede/forget sequences that hold: {sg['held']}/{sg['total']}")


def print_summary(reports: dict[str, dict[str, Any]]) -> None:
    """One row per data set: overall counts, precision/recall, clean no-fact, sequences."""
    head = f"{'set':<28}{'msgs':>5}{'tp':>5}{'fp':>5}{'fn':>5}{'P':>7}{'R':>7}"
    print(f"{head}{'no-fact':>9}{'seqs':>6}")
    for name, rep in reports.items():
        r, nf, sg = rep["overall"], rep["no_fact_messages"], rep["supersede_groups"]
        print(
            f"{name:<28}{rep['messages']:>5}{r['tp']:>5}{r['fp']:>5}{r['fn']:>5}"
            f"{r['precision']:>7.3f}{r['recall']:>7.3f}"
            f"{nf['clean']:>5}/{nf['total']:<3}{sg['held']:>3}/{sg['total']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--data", type=Path, nargs="+", action="extend", help="one or more labelled JSONL sets"
    )
    parser.add_argument("--json", type=Path, default=HERE / "results" / "extraction.json")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every mismatch")
    args = parser.parse_args(argv)
    paths: list[Path] = args.data or [HERE / "data" / "extraction_labelled.jsonl"]
    reports: dict[str, dict[str, Any]] = {}
    for path in paths:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if args.verbose and len(paths) > 1:
            print(f"== {path.name}")
        reports[path.stem] = evaluate(rows, args.verbose)
    if len(reports) == 1:
        print_table(next(iter(reports.values())))
        out: dict[str, Any] = next(iter(reports.values()))
    else:
        print_summary(reports)
        out = reports
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, default=str))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
