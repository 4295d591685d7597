"""Scale-out on PostgreSQL: site leases that give each site to one worker, the fan-out of live
events through LISTEN/NOTIFY, the sweep that marks sites nobody watches, and their queries. It
imports `monitor.probe` (the event bus) and `models`.
"""
