"""shopdesk's rasa-sdk action package, served by `rasa run actions` (port 5055).

Importing it loads and checks everything the answers come from (FAQ templates, store
profile, transcripts, databases), so a broken file stops the action server at start-up with
an error naming the file instead of failing on a customer's question.
"""

from actions.shared import resources

resources()
