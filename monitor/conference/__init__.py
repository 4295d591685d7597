"""The conference day as organisers see it: what happened to each participating site within the
conference's window (time in each status, incidents, worst figures, delegates present).

Rules are pure functions over what the recorder stored (`timeline`); `report` reads the stored
history of one conference and puts the figures together.
"""
