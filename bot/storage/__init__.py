"""shopdesk's database: one engine per process, migrations, the conversation log and its
index, reviews, handoffs and feedback, staff accounts."""
