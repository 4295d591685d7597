"""Everything that watches the sites, in packages by concept (docs/ARCHITECTURE.md):

- `wire`: what the site agent and the monitor share: the messages on the data channel, the
  WebRTC and signaling plumbing, the agent's credentials on the wire, the media check.
- `agent`: the program at a site that answers the monitor (it imports only `wire`).
- `probe`: the probe engine: how each site is reached and probed, its status, what is recorded.
- `scaleout`: several workers sharing the sites through PostgreSQL: leases, the fan-out of live
  events, the sweep of sites nobody watches.
- `simulation`: a loss/delay relay for links and the demo's fleet of simulated agents.

Nothing here imports `app`; `models` is the layer below.
"""
