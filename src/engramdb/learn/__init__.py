"""Learning from outcomes: experience lessons built from agent episodes, their lookup before a
task, and feedback on memories. Pure planning here; the facade does the I/O."""
