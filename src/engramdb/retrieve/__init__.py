"""The read path: candidate generation, fusion and result shaping."""
