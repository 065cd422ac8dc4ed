"""The helpdesk: tickets for handed-off conversations, feedback, service hours."""
