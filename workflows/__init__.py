"""Orchestration only: deterministic code, no I/O."""
