"""ingress: Twilio's WhatsApp webhook → `message.received`; delivery callbacks → `reply.status`."""
