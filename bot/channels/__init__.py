"""Customer channels beyond Rasa's own: REST with checked input, Messenger with strict
signatures and the web chat's socket.io with server-issued session ids; the rate limits and
the sender-id rule they share (`limits.py`, `sender_ids.py`)."""
