"""NLU components of shopdesk.

Rasa imports components by their path in `config.yml`, e.g.
`bot.nlu.bert_intent_classifier.BertIntentClassifier`; nothing is re-exported here so that
importing `bot` stays cheap (no torch) for the CLI and the action server.
"""
