"""Search: fugashi tokens, the documents indexed, the index (build, load), retrievers, confidence, tuned parameters."""
