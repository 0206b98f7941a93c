"""The learning loop: what logged conversations teach the bot, with personal data masked."""
