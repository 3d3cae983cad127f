"""``Memory.forget``, ``tombstones``, ``consolidate`` and ``restore`` (see
``engramdb.lifecycle``)."""

from __future__ import annotations

import uuid
from typing import Any

from engramdb.errors import MemoryNotFoundError, ValidationError
from engramdb.facade.core import FacadeCore
from engramdb.lifecycle import consolidate as consolidation
from engramdb.models import Change, Scope, Tombstone, WriteBatch
from engramdb.timeutil import iso, to_datetime, utcnow
from engramdb.validation import check_limit, check_reason


class LifecycleMethods:
    """Forgetting for real, consolidation and restoring archived memories."""

    def forget(
        self: FacadeCore,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        memory_id: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Erase for real: content is removed everywhere, a content-free tombstone remains.

        With ``memory_id``: that memory (deleted earlier or not), the text of its history
        and the episodes it was extracted from. With a scope: every memory, vector, keyword
        entry and episode of it and the text of its history. A scope is required: there is
        no "forget everything". Returns the tombstone (what kinds were erased, how many).
        Unlike :meth:`delete`, which keeps history, nothing said can be read back.
        """
        why = check_reason(reason)
        if memory_id is not None:
            if user_id is not None or agent_id is not None or run_id is not None:
                raise ValidationError("give memory_id or a scope to forget, not both")
            if not isinstance(memory_id, str) or not memory_id:
                raise ValidationError(f"memory_id must be a non-empty string, not {memory_id!r}")
            record = self.store.get(memory_id, self.tenant)
            if record is None and not self.store.history(memory_id, self.tenant):
                raise MemoryNotFoundError(memory_id)
            scope = record.scope if record is not None else Scope(tenant=self.tenant)
        else:
            scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="forget")
        tombstone = Tombstone(
            id=str(uuid.uuid4()),
            scope=scope,
            memory_id=memory_id,
            reason=why,
            erased_at=iso(utcnow()),
        )
        erased = self.store.erase(scope, memory_id=memory_id, tombstone=tombstone)
        if memory_id is not None and not erased.counts.get("episodes"):
            erased.notes.append("no source messages of this memory were found; none were erased")
        return erased.to_dict()

    def tombstones(
        self: FacadeCore,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Records of what :meth:`forget` erased (kinds and counts, never content), newest
        first; all of this tenant's when no scope is given."""
        scope, _ = self._scope(user_id, agent_id, run_id, required=False, action="tombstones")
        return [t.to_dict() for t in self.store.tombstones(scope, limit=check_limit(limit))]

    def consolidate(
        self: FacadeCore,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Merge near-duplicates and archive stale low-value memories of a scope.

        Near-duplicates (same scope and type, cosine >= ``lifecycle.duplicate_similarity``
        and the same wording, see :mod:`engramdb.lifecycle.consolidate`): the better one
        stays, the others are archived with a history event naming it. Stale: importance
        below ``lifecycle.stale_importance``, unused and old (config). Archived memories
        leave search and :meth:`get_all` (``include_archived=True`` lists them) and come
        back with :meth:`restore`. One transaction; ``dry_run=True`` only reports. A memory
        another writer updates meanwhile is not archived: it is listed under ``skipped``.
        """
        if not isinstance(dry_run, bool):
            raise ValidationError(f"dry_run must be a boolean, not {dry_run!r}")
        scope, _ = self._scope(user_id, agent_id, run_id, required=True, action="consolidate")
        now = utcnow()
        active = [
            r
            for r in self.store.iter_all(scope, with_vectors=True)
            if r.status == "active" and (r.expires_at is None or to_datetime(r.expires_at) > now)
        ]
        decided = consolidation.plan(active, self.config.lifecycle, now=now.timestamp())
        if not dry_run:
            decided.skip(self.store.apply(WriteBatch(changes=decided.changes, at=iso(now))))
        return decided.report(dry_run=dry_run)

    def restore(self: FacadeCore, memory_id: str) -> dict[str, Any]:
        """Bring back a memory :meth:`consolidate` archived (a RESTORE history event)."""
        record = self._owned(memory_id)
        if record.status != "archived":
            raise ValidationError(
                f"memory {memory_id} is {record.status}, not archived: nothing to restore"
            )
        change = Change(id=record.id, status="active", event="RESTORE", reason="restored")
        self.store.apply(WriteBatch(changes=[change], at=iso(utcnow())))
        restored = self.store.get(record.id, self.tenant)
        assert restored is not None
        return restored.to_dict()
