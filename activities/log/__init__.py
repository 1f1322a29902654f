"""The delivery log: every attempt of every delivery, written in batches, read by commands."""
