"""Admin area: learn from the conversation logs."""
