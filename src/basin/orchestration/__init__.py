"""Orchestration: schedules and triggers. Basin does the work; the scheduler decides when."""
