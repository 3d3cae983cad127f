"""Storage backends behind the :class:`~engramdb.store.base.Store` Protocol."""
