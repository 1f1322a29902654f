"""The worker's runtime: settings, assembly, the payload codec, failures, logs, metrics."""
