"""What the generators, the orchestrator and the ML pipeline share."""
