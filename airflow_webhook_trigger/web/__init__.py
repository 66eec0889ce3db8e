"""The HTTP adapters: FastAPI/Starlette, the Flask blueprint, the management API and page."""
