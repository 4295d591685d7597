"""Simulated links and sites, for the demo and the tests: a userspace UDP relay that adds loss,
delay and jitter between two WebRTC peers, and the demo's fleet of real agents behind such
links. It imports `monitor.agent` and `monitor.wire`, never the engine.
"""
