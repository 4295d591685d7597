"""Probe engine: site agents, status machine, scheduler and metrics (issue [2] onwards)."""
