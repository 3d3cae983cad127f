"""The write path: message parsing, extraction, reconciliation, write planning."""
