"""Parts of the :class:`~engramdb.Memory` facade, one module per concern.

``Memory`` inherits these method groups; each method validates its input and hands the work to
the module that holds the logic (``engramdb.graph``, ``engramdb.lifecycle``, ``engramdb.learn``).
"""
