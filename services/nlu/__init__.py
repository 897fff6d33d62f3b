"""nlu: `message.received` → `intent.detected`, and a Rasa-compatible `POST /model/parse`."""
