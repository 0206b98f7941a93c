"""End-to-end tests: the demo bot as `shopdesk up` runs it (trained model, every server),
customers and staff in a real browser, and the production stack."""
