"""Persistence layer: settings, SQLAlchemy models, database sessions and site topology.

Knows nothing of HTTP or WebRTC; `monitor` and `app` build on it.
"""
