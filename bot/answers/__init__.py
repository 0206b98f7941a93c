"""Answers to customers: FAQ templates, orders, the shop's facts and past transcripts."""
