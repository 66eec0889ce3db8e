"""The sans-IO core: values, parsing, verification and the request driver (see README.md)."""
