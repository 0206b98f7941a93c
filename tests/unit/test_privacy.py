"""Personal data is masked before chat logs become training data; order numbers survive."""

from __future__ import annotations

import dataclasses
import random

import pytest

from bot.learning.privacy import (
    PLACEHOLDERS,
    MaskedText,
    Redaction,
    find_personal_data,
    map_span,
    mask_personal_data,
)


def masked(text: str) -> str:
    return mask_personal_data(text).text


def kinds(text: str) -> list[str]:
    return [r.kind for r in find_personal_data(text)]


def check_invariants(text: str, result: MaskedText) -> None:
    """Redactions are sorted, do not overlap, and point at their text in the original."""
    previous_end = 0
    for r in result.redactions:
        assert previous_end <= r.start < r.end <= len(text)
        assert text[r.start : r.end] == r.original
        assert r.kind in PLACEHOLDERS
        previous_end = r.end
    rebuilt = []
    last = 0
    for r in result.redactions:
        rebuilt += [text[last : r.start], PLACEHOLDERS[r.kind]]
        last = r.end
    assert "".join(rebuilt) + text[last:] == result.text


# --- emails -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Hi, I was double charged, my email is hannah.price@outlook.com",
            "Hi, I was double charged, my email is <EMAIL>",
        ),
        (
            "please change my account email from laura.p@yahoo.com to Laura.Peters+shop@gmx.co.uk.",
            "please change my account email from <EMAIL> to <EMAIL>.",
        ),
        (
            "registering says the email format is invalid but it's marco.bianchi@studio-bianchi.it",
            "registering says the email format is invalid but it's <EMAIL>",
        ),
    ],
)
def test_emails_are_masked(message, expected):
    assert masked(message) == expected


def test_email_wins_over_the_name_and_digits_inside_it():
    result = find_personal_data("send it to anna.schmidt4111111111111111@web.de thanks")
    assert [(r.kind, r.original) for r in result] == [
        ("EMAIL", "anna.schmidt4111111111111111@web.de")
    ]


# --- phones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Where is order #604731? You can call me on 07700 900123.",
            "Where is order #604731? You can call me on <PHONE>.",
        ),
        (
            "courier can ring +44 20 7946 0958 or my mobile 07911-123-456",
            "courier can ring <PHONE> or my mobile <PHONE>",
        ),
        ("Tel: +49 (0)170 1234567, bitte vor 18 Uhr", "Tel: <PHONE>, bitte vor 18 Uhr"),
        ("mon numéro: 06 12 34 56 78", "mon numéro: <PHONE>"),
        ("US number (212) 736-5000 works best", "US number <PHONE> works best"),
        ("my Irish mobile is 087 123 4567", "my Irish mobile is <PHONE>"),
        ("llámame al +34 612 345 678", "llámame al <PHONE>"),
    ],
)
def test_phone_numbers_of_served_countries_are_masked(message, expected):
    assert masked(message) == expected


def test_short_numbers_some_regions_call_valid_are_not_phones():
    # Austria and Italy accept "01 2345"; a reference that short is not taken for a phone.
    text = "quote ref 01 2345, callback 07911 123456"
    assert masked(text) == "quote ref 01 2345, callback <PHONE>"


def test_phone_right_after_an_order_number_is_found_and_the_order_number_kept():
    # Without hiding the order number the matcher reads "482913 07700 900123" as one number.
    assert masked("order 482913 07700 900123") == "order 482913 <PHONE>"


# --- cards --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Card number 4111 1111 1111 1111, expiry 12/26",
            "Card number <CARD_NUMBER>, expiry 12/26",
        ),
        (
            "my card 5555-5555-5555-4444 was charged twice for order 219507",
            "my card <CARD_NUMBER> was charged twice for order 219507",
        ),
        ("paid with 4242424242424242 yesterday", "paid with <CARD_NUMBER> yesterday"),
        ("Amex 3782 822463 10005 declined", "Amex <CARD_NUMBER> declined"),
    ],
)
def test_card_numbers_with_valid_checksum_are_masked(message, expected):
    assert masked(message) == expected


def test_card_number_failing_luhn_is_left_alone():
    text = "is 4111 1111 1111 1112 a card number?"
    assert find_personal_data(text) == []


# --- addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("I live at 12 Baker Street", "I live at <ADDRESS>"),
        (
            "please deliver to 221B Baker St, London NW1 6XE instead",
            "please deliver to <ADDRESS> instead",
        ),
        ("new address is Flat 3, 45 High Road", "new address is <ADDRESS>"),
        (
            "Ich bin umgezogen: Hauptstraße 12, 10115 Berlin",
            "Ich bin umgezogen: <ADDRESS>",
        ),
        (
            "ship it to 1600 Amphitheatre Pkwy, Mountain View, CA 94043 please",
            "ship it to <ADDRESS> please",
        ),
        ("my postcode is SW1A 1AA", "my postcode is <ADDRESS>"),
        ("is m1 1ae in your delivery area?", "is <ADDRESS> in your delivery area?"),
        ("postcode sw1a 1aa, is that in your area?", "postcode <ADDRESS>, is that in your area?"),
        (
            "send it to my work instead, Unit 5, 120 Park Lane, London W1K 7TN",
            "send it to my work instead, <ADDRESS>",
        ),
        ("livrer au 10 rue de Rivoli, 75001 Paris svp", "livrer au <ADDRESS> svp"),
        ("Kalverstraat 92, 1012 PH Amsterdam", "<ADDRESS>"),
        ("Deliver to: Via Garibaldi 23, 20121 Milano", "Deliver to: <ADDRESS>"),
        (
            "I'll be at 350 Fifth Avenue, New York, NY 10118 tomorrow",
            "I'll be at <ADDRESS> tomorrow",
        ),
        ("can you deliver on Sunday to 7 abbey road", "can you deliver on Sunday to <ADDRESS>"),
        ("my eircode is D02 X285", "my eircode is <ADDRESS>"),
        ("PO Box 1234, Dublin 2", "<ADDRESS>"),
        ("Deliver to 12 Baker Street, Please hurry", "Deliver to <ADDRESS>, Please hurry"),
    ],
)
def test_street_addresses_are_masked_whole(message, expected):
    assert masked(message) == expected


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "My name is Anna Schmidt and order 482913 is late",
            "My name is <NAME> and order 482913 is late",
        ),
        (
            "my name is siobhan o'reilly, i ordered boots",
            "my name is <NAME>, i ordered boots",
        ),
        (
            "I'm Priya Sharma and I need to change my address",
            "I'm <NAME> and I need to change my address",
        ),
        ("hi im tom and i want a refund", "hi im <NAME> and i want a refund"),
        ("Hi, this is Maria from Dublin", "Hi, this is <NAME> from Dublin"),
        ("Mr Smith ordered size 38 boots", "Mr <NAME> ordered size 38 boots"),
        (
            "Please send the parcel to Mrs. J. Smith",
            "Please send the parcel to Mrs. <NAME>",
        ),
        ("Thanks, Anna", "Thanks, <NAME>"),
        (
            "Thanks for your help!\n\nKind regards,\nSophie",
            "Thanks for your help!\n\nKind regards,\n<NAME>",
        ),
        ("Where is my order?\nTom", "Where is my order?\n<NAME>"),
        (
            "I'm waiting for a parcel for Maria Schmidt",
            "I'm waiting for a parcel for <NAME>",
        ),
        ("Can Anna Schmidt pick it up at the depot?", "Can <NAME> pick it up at the depot?"),
        ("Spoke to Emma on the phone yesterday", "Spoke to <NAME> on the phone yesterday"),
        ("Name: Anna Weber, Tel: +49 170 1234567", "Name: <NAME>, Tel: <PHONE>"),
        (
            "MY NAME IS ANNA SCHMIDT AND MY ORDER 482913 IS LATE",
            "MY NAME IS <NAME> AND MY ORDER 482913 IS LATE",
        ),
    ],
)
def test_names_with_context_are_masked(message, expected):
    assert masked(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("my name is Grace Miller", "my name is <NAME>"),
        ("Hi Will, can you help?", "Hi <NAME>, can you help?"),
        ("Cheers, Mark", "Cheers, <NAME>"),
        ("Thanks Anna for sorting it so quickly", "Thanks <NAME> for sorting it so quickly"),
    ],
)
def test_words_that_are_also_names_are_masked_with_a_strong_cue(message, expected):
    assert masked(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Hi, this is Mark from Leeds", "Hi, this is <NAME> from Leeds"),
        ("I'm Will, order 482913", "I'm <NAME>, order 482913"),
        ("my name is Jan de Vries", "my name is <NAME>"),
        ("I'm Maria van der Berg, order 482913", "I'm <NAME>, order 482913"),
        ("Anna Schmidt", "<NAME>"),
        ("tom", "<NAME>"),
    ],
)
def test_introductions_particles_and_a_bare_name_reply(message, expected):
    assert masked(message) == expected


@pytest.mark.parametrize(
    "message", ["yes", "Will", "navy", "Paris", "refund please", "it's May already"]
)
def test_short_replies_that_are_not_names(message):
    assert find_personal_data(message) == []


@pytest.mark.parametrize(
    "message",
    [
        "this is Royal Mail again",
        "Thanks, Royal Mail",
        "It's Summer sale time",
        "this is Rose Gold",
    ],
)
def test_places_brands_and_seasons_after_an_introduction_are_not_names(message):
    assert find_personal_data(message) == []


def test_the_exporters_example_keeps_its_order_number_entity():
    text = "hi, where is my order 482913? it's for Tom Baker, tom.baker@example.com"
    result = mask_personal_data(text)
    assert result.text == "hi, where is my order 482913? it's for <NAME>, <EMAIL>"
    start = text.index("482913")
    assert map_span(result, start, start + 6) == (22, 28)
    assert map_span(result, text.index("tom.baker"), len(text)) is None


# --- things that must survive -------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "where is order 482913",
        "hi, is it too late to cancel order #604731?",
        "I'd like to cancel order no. 219507, the one with the size 38 boots",
        "orders 482913 604731 219507 all say processing",
        "orders 482913, 604731 and 447129",
        "482913",
        "It costs £49.99, it was €120 on 12/03/2024, delivered at 14:30",
        "Delivered 12.03.2024 at 09:15 - order 771046, 2x £49.99",
        "size 38, EU 42, UK 8, qty 3",
        "The EU 42 fits like a UK 8, I'm 5'9",
        "Order 219507 was £89.99 + £4.95 shipping, total £94.94",
        "ref 12345678 on invoice 2024-0042",
        "tracking number JD014600003828374822 shows nothing",
        "the tracking code DH4829130571 hasn't updated",
        "Call between 9-5 on 2024-03-12",
        "size 38 482913 and size 40 604731",
        "stuck since March 2024 482913 still not here",
    ],
)
def test_order_numbers_prices_dates_sizes_and_times_are_not_masked(message):
    result = mask_personal_data(message)
    assert result.text == message
    assert result.redactions == ()


@pytest.mark.parametrize(
    "message",
    [
        "I will pay the bill, may I hope for some grace on the due date?",
        "Will it arrive by Friday?",
        "May I return it after 30 days?",
        "Hope you can help, I ordered 3 items",
        "Grace period for returns?",
        "Bill me later with Klarna please",
        "Mark it as a gift please",
        "I hope you will mark my order as urgent",
        "the jean jacket in size 12 and two jeans",
        "I bought jeans from you, the Jean jacket too",
        "Will you restock the Grace dress in May?",
        "I'd love the Emma Dress in navy",
        "Do you stock Calvin Klein or Tommy Hilfiger?",
        "Dr. Martens boots in EU 42 please",
        "Chelsea Boots in size 6",
        "Is the Ted Baker coat back in stock?",
        "Do Hunter Original wellies run small?",
        "Did the Sophie Allport mugs arrive?",
        "Grace Kelly style sunglasses, do you have them?",
        "I'm sorry but this is ridiculous",
        "I'm in Paris until Friday",
        "Thanks. Will you ship to Ireland?",
        "Hi Will there be a Black Friday sale?",
        "Is the parka available in Navy and Olive?",
        "size 6 Block Heel Court Shoes please",
        "got an sms saying I owe customs before my delivery to London can be made",
    ],
)
def test_common_words_brands_and_products_are_not_names(message):
    assert find_personal_data(message) == []


@pytest.mark.parametrize(
    "message",
    [
        "3 days on the way and still nothing",
        "2 pairs of road running shoes",
        "Size 8 Court Shoes in Black",
        "I bought 2 items from your High Street store",
        "it was sent via DHL 2 days ago",
        "Spring 2024 collection is lovely",
        "The courier left it at number 12",
        "can I pay with card ending 4242?",
        "482913 Baker Street never got it",
    ],
)
def test_quantities_and_store_talk_are_not_addresses_or_cards(message):
    assert find_personal_data(message) == []


def test_a_message_with_everything():
    text = (
        "Hi, I'm Anna Schmidt. Order #604731 should go to 221B Baker St, London NW1 6XE, "
        "not my old flat. Card 4111 1111 1111 1111 was charged £49.99 on 12/03/2024. "
        "Call 07700 900123 or mail anna.schmidt@gmail.com. Thanks, Anna"
    )
    result = mask_personal_data(text)
    assert result.text == (
        "Hi, I'm <NAME>. Order #604731 should go to <ADDRESS>, "
        "not my old flat. Card <CARD_NUMBER> was charged £49.99 on 12/03/2024. "
        "Call <PHONE> or mail <EMAIL>. Thanks, <NAME>"
    )
    assert [r.kind for r in result.redactions] == [
        "NAME",
        "ADDRESS",
        "CARD",
        "PHONE",
        "EMAIL",
        "NAME",
    ]
    assert result.redactions[1].original == "221B Baker St, London NW1 6XE"
    check_invariants(text, result)


def test_redactions_carry_positions_in_the_original():
    text = "call 07911 123456 now"
    assert find_personal_data(text) == [Redaction(5, 17, "PHONE", "07911 123456")]


def test_results_are_immutable_and_placeholders_are_typed():
    result = mask_personal_data("mail me at tom.becker@web.de")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "x"  # type: ignore[misc]
    assert PLACEHOLDERS == {
        "EMAIL": "<EMAIL>",
        "PHONE": "<PHONE>",
        "CARD": "<CARD_NUMBER>",
        "ADDRESS": "<ADDRESS>",
        "NAME": "<NAME>",
    }


# --- map_span -----------------------------------------------------------------------------


def test_map_span_moves_an_order_number_after_a_longer_email():
    text = "Could you re-send the invoice for 819362 to anna.berg@gmail.com and 604731 too?"
    result = mask_personal_data(text)
    first = text.index("819362")
    second = text.index("604731")
    assert map_span(result, first, first + 6) == (first, first + 6)  # before any redaction
    new = map_span(result, second, second + 6)
    assert new is not None
    assert new == (second - len("anna.berg@gmail.com") + len("<EMAIL>"), new[0] + 6)
    assert result.text[new[0] : new[1]] == "604731"


def test_map_span_moves_past_a_shorter_original():
    text = "My name is Al Li, order 482913"  # "Al Li" (5 characters) becomes "<NAME>" (6)
    result = mask_personal_data(text)
    assert result.text == "My name is <NAME>, order 482913"
    start = text.index("482913")
    assert map_span(result, start, start + 6) == (start + 1, start + 7)


def test_map_span_returns_none_when_the_span_touches_a_redaction():
    text = "my email is tom.archer@outlook.com, order 447129"
    result = mask_personal_data(text)
    email_start = text.index("tom.archer")
    assert map_span(result, email_start, email_start + 10) is None
    assert map_span(result, email_start - 3, email_start + 1) is None  # overlaps its start
    assert map_span(result, email_start + 5, email_start + 5) is None  # empty, inside
    assert map_span(result, email_start - 1, email_start) == (email_start - 1, email_start)


def test_map_span_with_redactions_on_both_sides():
    text = "Hi, I'm Sophie Lang, order 390561, mail sophie.lang@icloud.com"
    result = mask_personal_data(text)
    start = text.index("390561")
    new = map_span(result, start, start + 6)
    assert new is not None and result.text[new[0] : new[1]] == "390561"
    assert result.text == "Hi, I'm <NAME>, order 390561, mail <EMAIL>"


def test_map_span_keeps_every_unmasked_word_in_place():
    text = (
        "Cheers for the help. Order 538214 goes to Flat 3, 45 High Road, call 07911 123456 "
        "or write to tim.baker@hotmail.com, card 4242 4242 4242 4242.\nTim"
    )
    result = mask_personal_data(text)
    words = [(i, i + len(w)) for i, w in _word_spans(text)]
    mapped = 0
    for start, end in words:
        new = map_span(result, start, end)
        if new is not None:
            assert result.text[new[0] : new[1]] == text[start:end]
            mapped += 1
    assert 0 < mapped < len(words)


def _word_spans(text: str) -> list[tuple[int, str]]:
    spans = []
    position = 0
    for word in text.split():
        position = text.index(word, position)
        spans.append((position, word))
        position += len(word)
    return spans


def test_map_span_rejects_a_backwards_span():
    with pytest.raises(ValueError):
        map_span(mask_personal_data("hello"), 3, 1)


# --- robustness and speed -----------------------------------------------------------------

LONG_CHAT = (
    "Hello, my name is Anna Schmidt. Order 482913 should go to 12 Baker Street, London "
    "NW1 6XE; call 07700 900123 or mail anna.schmidt@gmail.com. It was £49.99 on 12/03/2024. "
) * 120


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t \r\n",
        "😀🎉 where is my parcel 📦??",
        "我的订单482913在哪里？请打电话给我 13812345678",
        "مرحبا، طلبي رقم 482913 لم يصل بعد",
        "Здравствуйте, меня зовут Анна, заказ 604731",
        "\x00\x01 order\x07 482913 \x1b[31m red \x7f",
        "\ud83d broken surrogate",
        "a" * 20_000,
        "1" * 20_000,
        "@" * 20_000,
        "Anna " * 4_000,
        "Flat 1, " * 2_500,
        "a-" * 10_000 + "straße 12",
        LONG_CHAT[:20_000],
    ],
    ids=lambda t: repr(t[:12]),
)
@pytest.mark.timeout(30)
def test_any_text_is_handled(text):
    result = mask_personal_data(text)
    check_invariants(text, result)


def test_long_chat_masks_every_repetition():
    text = LONG_CHAT[: len(LONG_CHAT) // 120 * 10]
    result = mask_personal_data(text)
    assert result.text.count("<NAME>") == 10
    assert result.text.count("<ADDRESS>") == 10
    assert result.text.count("<PHONE>") == 10
    assert result.text.count("<EMAIL>") == 10
    assert result.text.count("482913") == 10


def test_random_text_keeps_the_invariants():
    rng = random.Random(20240312)
    alphabet = "abcXYZ 0123456789 +-()./,:#@£€\n\tßéñ😀中ا"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        check_invariants(text, mask_personal_data(text))
