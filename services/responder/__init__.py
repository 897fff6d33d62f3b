"""responder: `action.completed` → a Spanish reply sent with Twilio → `reply.sent` or `reply.failed`."""
