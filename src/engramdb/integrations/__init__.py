"""Glue for agent frameworks. Each module imports its framework only when imported itself.

- :mod:`engramdb.integrations.langgraph`: a LangGraph ``BaseStore`` and LangChain tools
  (extra ``engramdb[langgraph]``).
- :mod:`engramdb.integrations.openai_tools`: function-calling tool definitions and a
  dispatcher, for any OpenAI-compatible client or the OpenAI Agents SDK (no extra needed).
- :mod:`engramdb.integrations.chat`: ``with_memory`` for a chat loop, and ``context_block``
  (no extra needed).
"""
