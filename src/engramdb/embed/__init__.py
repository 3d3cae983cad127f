"""Embedders: turn texts into unit-length float32 vectors."""
