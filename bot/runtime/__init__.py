"""Running shopdesk: the Rasa server and its patches, the action server, process supervision,
production mode and the servers' access rules."""
