"""shopdesk: a customer-service chatbot backend for online stores, built on Rasa 3.6."""

__version__ = "0.1.0"
