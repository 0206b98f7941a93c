"""Unit tests: one module or a few, called in the test process (tiny random models, SQLite in a
temporary folder). `python -m pytest tests/unit` runs in a few minutes."""
