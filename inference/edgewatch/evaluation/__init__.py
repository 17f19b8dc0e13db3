"""`edgewatch evaluate`: measured accuracy and speed of models, precisions and tracker settings on a
user's own scene (a video and its MOTChallenge ground truth), to choose between them.

score.py computes the metrics (the `trackers` package's `trackers.eval`: CLEAR, HOTA, Identity) and the
true line counts; runs.py runs each variant through the real worker; report.py writes the table, CSV,
JSON and the accuracy-against-speed plot.
"""
