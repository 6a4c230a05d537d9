"""The HTTP face of the assistant: FastAPI app factory, routes and the widget."""
