"""The probe engine: one monitor per probed site, kept in step with the database; heartbeats
and measurement windows; the status machine; the event bus that carries what it observes to
the recorder, the live view and the metrics. It imports `monitor.wire` and `models`.
"""
