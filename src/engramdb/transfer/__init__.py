"""Export memories as JSON Lines and import them back, or import chat logs.

Example::

    from engramdb import Memory
    from engramdb.transfer import export_jsonl, import_jsonl

    with Memory(path="./old") as old, open("alice.jsonl", "w") as f:
        export_jsonl(old, f, user_id="alice")
    with Memory(path="./new") as new, open("alice.jsonl") as f:
        report = import_jsonl(new, f)
    print(report.imported, report.skipped_existing)

An export starts with one ``{"type": "header", ...}`` line naming the embedder, then one
``{"type": "memory", ...}`` line per memory, each followed by its ``{"type": "history", ...}``
lines, then one ``{"type": "episode", ...}`` line per stored raw message (what the memories
were extracted from), one ``{"type": "feedback", ...}`` line per judgement given on its
memories (the query without its vector), then the scope's graph: ``entity`` lines (with
aliases), one ``entity_links`` line per linked memory, ``relation`` lines (validity, and the
memories and episodes stating them) and ``entity_merge`` lines (the merge log, with what
undoing a merge needs, by memory id). An import writes the graph back with its ids instead of
linking the imported memories anew, so extracted relations and merges survive a move (see
:mod:`engramdb.transfer.graphlines`). ``import_jsonl`` also accepts plain chat lines,
``{"role", "content"}`` or ``{"messages": [...]}``, which are stored verbatim through
``Memory.add(..., infer=False)``.

The whole input is validated before anything is written: by default one bad line means nothing
is imported (:class:`ImportValidationError` lists every bad line); with ``skip_invalid=True``
bad lines are reported and the rest is imported.
"""

from __future__ import annotations

from engramdb.transfer.export import export_jsonl
from engramdb.transfer.report import (
    ImportReport,
    ImportValidationError,
    ImportWriteError,
    LineError,
)
from engramdb.transfer.write import import_jsonl

__all__ = [
    "ImportReport",
    "ImportValidationError",
    "ImportWriteError",
    "LineError",
    "export_jsonl",
    "import_jsonl",
]
