"""Frustration, insults and other languages through the real bot (the `bot` fixture).

`rasa test` stories check intents and the actions the policies choose; what an action says
from the messages' frustration signal (the second frustrated message, or one right after
"please rephrase") only shows in a running bot's replies and its tracker.
"""

from __future__ import annotations

import uuid


def new_sender(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def kinds(bot, sender: str) -> list[str]:
    return [source.get("kind") for source in bot.sources(sender)]


def test_the_pipeline_marks_frustration_and_language_in_the_parse_data(bot) -> None:
    angry = bot.parse("this is RIDICULOUS, where is my refund?!")
    assert angry["sentiment"]["frustrated"] is True
    assert angry["language"]["code"] == "en" and angry["language"]["supported"] is True
    calm = bot.parse("my parcel arrived damaged, what can I do")
    assert calm["sentiment"]["frustrated"] is False
    german = bot.parse("Wo ist meine Bestellung? Ich warte schon seit zwei Wochen.")
    assert german["intent"]["name"] == "other_language"
    assert german["language"] == {**german["language"], "code": "de", "supported": False}
    # The classifier's own guess stays in the ranking, after other_language.
    assert german["intent_ranking"][0]["name"] == "other_language"
    assert len(german["intent_ranking"]) > 1


def test_an_insult_gets_an_apology_and_a_person_not_a_rephrase(bot) -> None:
    sender = new_sender("insult")
    replies = bot.replies(sender, "you are useless")
    assert "sorry" in replies[0]["text"].lower()
    assert replies[0]["buttons"][0]["payload"] == "/contact_human_agent"
    assert "other words" not in " ".join(r.get("text", "") for r in replies)
    said = " ".join(bot.say(sender, "/contact_human_agent"))
    assert "colleague" in said.lower() or "person" in said.lower() or "team" in said.lower()
    handoff = [s for s in bot.sources(sender) if s.get("kind") == "handoff"]
    assert handoff and handoff[0]["reason"] == "frustration"


def test_the_second_frustrated_message_brings_the_apology(bot) -> None:
    sender = new_sender("angry")
    angry = "how long does delivery take?? I have been waiting FOREVER, this is ridiculous"
    first = " ".join(bot.say(sender, angry))
    assert "sorry" not in first.lower()  # one angry question is answered as usual
    assert "frustration" not in kinds(bot, sender)
    bot.say(sender, "no")
    replies = bot.replies(sender, "how long does delivery take, I've asked three times already!!")
    assert "sorry" in replies[0]["text"].lower()
    assert replies[0]["buttons"][0]["payload"] == "/contact_human_agent"
    assert kinds(bot, sender)[-2:] == ["frustration", "template"]  # and still the answer


def test_frustrated_right_after_not_understood_brings_the_apology(bot) -> None:
    sender = new_sender("lost")
    bot.say(sender, "qwfp zxcv blorp")
    assert kinds(bot, sender)[-1] in ("rephrase", "out_of_scope")  # not understood
    bot.say(sender, "omg are you kidding me, this is so annoying!!")
    assert kinds(bot, sender)[-1] == "frustration"


def test_another_language_is_answered_in_english_and_a_person_offered(bot) -> None:
    sender = new_sender("german")
    replies = bot.replies(sender, "Guten Tag, kann ich meine Bestellung noch stornieren?")
    assert "only chat in English" in replies[0]["text"] and "German" in replies[0]["text"]
    assert replies[0]["buttons"][0]["payload"] == "/contact_human_agent"
    bot.say(sender, "/contact_human_agent")
    handoff = [s for s in bot.sources(sender) if s.get("kind") == "handoff"]
    assert handoff and handoff[0]["reason"] == "other_language"
    # The language is stored with the message for the review app.
    user_events = [e for e in bot.tracker(sender)["events"] if e["event"] == "user"]
    assert user_events[0]["parse_data"]["language"]["code"] == "de"
