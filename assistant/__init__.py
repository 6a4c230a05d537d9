"""The 富岡甘楽 joint-services assistant: corpus, model, index, retrieval and answers."""

__version__ = "0.1.0"
