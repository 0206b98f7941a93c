"""Customer channels beyond Rasa's own: Messenger with strict signatures, and the web chat."""
