"""Framework adapters: the endpoints as ASGI (and, later, WSGI and Django)."""
