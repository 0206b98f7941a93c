"""Custom actions of the store assistant.

The answering actions (FAQ templates, order lookup, BM25 retrieval over past transcripts and
handoff to a human) live here; until they land, the bot answers with the domain's responses.
"""
