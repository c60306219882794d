"""Staged lessons: planning from her dates, the outbox, and rate-limited dispatch."""
