"""shopdesk's rasa-sdk action package, served by `rasa run actions` (port 5055)."""
