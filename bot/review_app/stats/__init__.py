"""The figures the review app's inbox and dashboard show, read from the log."""
