"""One module per LLM task: its prompt, its pydantic output model, and the pure functions
that build the messages and read the reply."""
