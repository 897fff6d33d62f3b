"""logger: every event into PostgreSQL (the analytics log), a JSONL file and the console."""
