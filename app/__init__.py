"""The HTTP side of BridgeWatch: the REST API, the live stream and the dashboard's read model,
the dashboard and API docs, push agents' signaling, /metrics and health, and the CLI. It wires
`monitor` and `models` together at start-up (docs/ARCHITECTURE.md)."""
