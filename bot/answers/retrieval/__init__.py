"""BM25 retrieval over past support transcripts (the answers' fallback)."""
