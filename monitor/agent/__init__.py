"""The site agent: the program at a bridge point that answers the monitor's probes, dialled
(pull, an HTTP server of its own) or dialling (push). It imports only `monitor.wire`: whatever
runs at a site must not need the monitor's engine or database.
"""
