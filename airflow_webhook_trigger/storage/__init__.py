"""The plugin's tables and how it writes them, over SQLAlchemy (see README.md)."""
