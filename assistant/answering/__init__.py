"""Answering: language, intents, answer composition, conversations and the service (``Assistant.ask``)."""
