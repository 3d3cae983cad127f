"""The memory lifecycle beside the read and write paths: access counts, consolidation."""
