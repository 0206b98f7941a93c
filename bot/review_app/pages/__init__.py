"""One blueprint per page of the review app."""
