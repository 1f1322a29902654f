"""The delivery engine: one attempt at an endpoint, judged, logged, and the retry ladder."""
