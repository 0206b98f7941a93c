"""What the tests share besides fixtures: paths, the tiny BERT, HTTP clients, logged
conversations, channel messages. Imported by name from here, never from a conftest."""
