"""HTTP layer: REST API, CLI, and (later) live stream, dashboard and signaling."""
