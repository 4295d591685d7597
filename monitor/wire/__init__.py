"""What the site agent and the monitor share, and nothing else: the JSON messages of the
`bridgewatch` data channel, WebRTC plumbing (offers, answers, closing within a bound), WHIP-style
signaling over HTTP, the agent's credentials as they travel, ICE configuration and the media
check's test video. It imports no other package of `monitor` (docs/PROTOCOL.md is its spec).
"""
