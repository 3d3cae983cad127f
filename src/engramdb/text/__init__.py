"""Text helpers every path shares: time expressions, the word lexicon and keyword terms.

They sit below ingest, retrieve and graph (which all read text the same way) and import none
of them, nor anything above the model layer.
"""
