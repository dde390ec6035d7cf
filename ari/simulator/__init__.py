"""A stand-in Asterisk for demos and tests: ARI REST + event WebSocket, and AudioSocket media."""
