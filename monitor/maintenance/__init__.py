"""Maintenance windows: when planned work at a site is on (`windows`, pure), and which sites are
in maintenance now (`query`)."""
