"""Find and mask personal data in customer messages before they become training data.

Logged conversations are exported as Rasa NLU YAML, transcript JSONL and test stories; a
customer's email, phone, card number, street address or name must never end up there. Each is
replaced by a typed placeholder (``<EMAIL>``, ``<PHONE>``, ...) so the NLU still learns where
such values occur, and ``map_span`` moves annotated entities (order numbers) to the masked text.

Detection, and why these libraries:

* Phone numbers: ``phonenumbers`` (9.0.43, Google's libphonenumber port, pure Python, no
  dependencies, metadata ships in the wheel). ``PhoneNumberMatcher`` with ``Leniency.VALID``
  runs once per region the store serves; overlapping hits are merged. It already rejects
  dates, times, prices and numbers glued to letters (tracking codes).
* First names: Faker (MIT, maintained) for its per-locale first-name lists: the countries
  the store serves give the "common" names, all of Faker's locales the "known" ones. Offline,
  read once on the first call that needs it. (``gender-guesser`` has a larger gazetteer but is
  GPLv3, which an Apache-2.0 project cannot ship.) Names are masked only with a context cue
  ("my name is", "I'm", "this is", Mr/Mrs/Dr, "Thanks, Anna", "for Maria Schmidt") or as a
  common first name followed by a capitalised surname; words that are also names ("will",
  "may", "grace", "bill", "mark", "jean") need a stronger cue.
* Card numbers: Luhn checksum plus issuer prefix and grouping checks; five lines, no library.
* Emails and street addresses: regular expressions here. Rejected for addresses: ``pyap`` 0.3.1
  (last release 2019) and its fork ``pyap2`` (same ``pyap`` import name, so the two clash) only
  find complete US/GB/CA addresses with town and postcode; they miss "12 Baker Street",
  "Flat 3, 45 High Road" and continental forms, and take ~0.7 s on a 20,000-character text.
  ``usaddress`` parses an address already cut out of the text and does not find one. spaCy,
  NLTK or Hugging Face NER would need model downloads, which the exporter may not do.

Six-digit order numbers ("482913", "order #604731") are never masked: they are hidden from the
phone matcher, a card number needs a card-like grouping and a valid checksum, and house numbers
have at most four digits.
"""

from __future__ import annotations

import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from phonenumbers import Leniency, PhoneNumberMatcher

PLACEHOLDERS = {
    "EMAIL": "<EMAIL>",
    "PHONE": "<PHONE>",
    "CARD": "<CARD_NUMBER>",
    "ADDRESS": "<ADDRESS>",
    "NAME": "<NAME>",
}

# Regions the store delivers to: national phone formats are read as these countries write them.
PHONE_REGIONS = ("GB", "US", "IE", "DE", "FR", "NL", "ES", "IT", "AT", "BE")

# When two kinds claim the same characters the more certain detector wins.
_PRIORITY = {"EMAIL": 0, "CARD": 1, "PHONE": 2, "ADDRESS": 3, "NAME": 4}


@dataclass(frozen=True)
class Redaction:
    """One piece of personal data: where it is in the original text, and what kind it is."""

    start: int
    end: int
    kind: str
    original: str


@dataclass(frozen=True)
class MaskedText:
    """The masked text plus what was taken out, with positions in the original text."""

    text: str
    redactions: tuple[Redaction, ...]


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


# ---------------------------------------------------------------------------------------------
# Emails

# Bounded quantifiers keep the search linear on long texts without an "@".
_EMAIL_RE = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w!#$%&'*+/=?^`{|}~-]{1,64}(?:\.[\w!#$%&'*+/=?^`{|}~-]{1,64}){0,8}"
    r"@(?:[^\W_][\w-]{0,62}\.){1,8}[^\W\d_]{2,24}(?![\w-])"
)


def _find_emails(text: str) -> list[tuple[int, int]]:
    if "@" not in text:
        return []
    return [m.span() for m in _EMAIL_RE.finditer(text)]


# ---------------------------------------------------------------------------------------------
# Order numbers, phones and cards

_SIX_DIGITS_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")
# What comes before the last group of a phone number: "+44 20 ", "07700 ", "(030) ", "347 ".
_PHONE_HEAD_RE = re.compile(
    r"(?:\+[\d ()]{1,8}|(?<!\d)\(?0\d{0,5}\)?|(?<!\d)3\d\d)[ \-./\u00a0]{0,3}\Z"
)
_DIGIT_GROUP_RE = re.compile(r"\d+")


def _hide_order_numbers(text: str) -> str:
    """The text with stand-alone six-digit numbers blanked out, positions unchanged.

    Why: the phone matcher would otherwise read "order 482913 07700 900123" as one invalid
    number and miss the phone, or glue two order numbers into something phone-like.
    """
    if not any(ch.isdigit() for ch in text):
        return text
    parts = []
    last = 0
    for m in _SIX_DIGITS_RE.finditer(text):
        if _PHONE_HEAD_RE.search(text, max(0, m.start() - 16), m.start()):
            continue  # the last group of a phone number ("07700 900123")
        parts.append(text[last : m.start()])
        parts.append("_" * 6)
        last = m.end()
    parts.append(text[last:])
    return "".join(parts)


# Seven or more digits with short separators: the only places a phone number can be.
_PHONE_RUN_RE = re.compile(r"\d(?:[\s().\-/–]{0,3}\d){6,}")


def _find_phones(shadow: str) -> list[tuple[int, int]]:
    """Phone numbers, matched only in windows around long digit runs.

    Why windows: the matcher scans the whole text once per region; on a long transcript
    that is most of the time spent, for text that holds no phone number.
    """
    if sum(ch.isdigit() for ch in shadow) < 7:
        return []
    windows = _merge(
        (max(0, m.start() - 24), min(len(shadow), m.end() + 24))
        for m in _PHONE_RUN_RE.finditer(shadow)
    )
    spans: set[tuple[int, int]] = set()
    for w_start, w_end in windows:
        window = shadow[w_start:w_end]
        for region in PHONE_REGIONS:
            for match in PhoneNumberMatcher(window, region, leniency=Leniency.VALID):
                groups = _DIGIT_GROUP_RE.findall(match.raw_string)
                if sum(len(g) for g in groups) < 7:
                    continue
                spans.add((w_start + match.start, w_start + match.end))
    return _merge(spans)


_CARD_RE = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?!\w)")
_CARD_GROUPINGS = {(4, 6, 5), (4, 6, 4)}


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _find_cards(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _CARD_RE.finditer(text):
        raw = m.group()
        groups = tuple(len(g) for g in re.split(r"[ -]", raw))
        digits = raw.replace(" ", "").replace("-", "")
        if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
            continue
        four_groups = all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4
        if len(groups) > 1 and not four_groups and groups not in _CARD_GROUPINGS:
            continue  # e.g. three order numbers in a row
        if _luhn_ok(digits):
            spans.append(m.span())
    return spans


# ---------------------------------------------------------------------------------------------
# Addresses

_UK_AREAS = (
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY"
    " E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD"
    " LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG"
    " SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE"
)
_UK_AREA_ALT = "|".join(sorted(_UK_AREAS.split(), key=len, reverse=True))
_UK_POSTCODE = rf"(?:{_UK_AREA_ALT})\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{{2}}"
# Real postcode areas only, in any case ("sw1a 1aa"): few other strings have this shape.
_UK_POSTCODE_RE = re.compile(rf"(?<![\w-])(?i:{_UK_POSTCODE})(?![\w-])")
_EIRCODE_RE = re.compile(r"(?<![\w-])(?:[AC-FHKNPRTV-Y]\d{2}|D6W)\s?[\dAC-FHKNPRTV-Y]{4}(?![\w-])")
_PO_BOX_RE = re.compile(r"(?<!\w)(?i:p\.?\s?o\.?\s?box)\s*\d{1,6}(?!\d)")

# Street types after the name ("Baker Street"). Strong ones mark an address in any case;
# weak ones are also plain words ("on the way") and count only when capitalised.
_STRONG_TYPES = _words(
    "street st road rd avenue ave lane ln boulevard blvd parkway pkwy highway hwy crescent"
    " cres terrace tce gardens gdns mews"
)
_WEAK_TYPES = _words(
    "drive dr way close cl place pl court ct park hill row walk green grove square sq gate"
    " rise vale view parade circle cir trail trl plaza quay wharf wynd end embankment"
    " broadway crossing loop alley lea common heights"
)
_TYPE_ALT = "|".join(sorted(_STRONG_TYPES | _WEAK_TYPES, key=len, reverse=True))
_NUMBER_FIRST_RE = re.compile(
    r"(?<![\w£$€#:/.,+-])"
    r"(?P<unit>(?i:flat|apartment|apt|unit|suite|ste|room)\.?\s*(?:no\.?\s*)?#?\s*\d{1,4}[A-Za-z]?"
    r"\s*,?\s+)?"
    r"(?P<num>\d{1,4}[A-Za-z]?(?:\s?-\s?\d{1,4}[A-Za-z]?)?)(?![\d/:.,]\d)"
    r",?\s+(?P<words>(?:[^\W\d_][\w'’.-]{0,30}\s+){1,4}?)"
    rf"(?P<type>(?i:{_TYPE_ALT}))(?![\w'’-])\.?"
)
# French/Belgian/Spanish style, number first and street type before the name.
_ROMANCE_TYPES = (
    r"rue|avenue|av\.|bd|boulevard|place|chemin|allée|allee|impasse|quai|route|cours|square"
    r"|via|viale|piazza|corso|calle|avenida|plaza|paseo|carrer|rua"
)
_PARTICLES = r"(?:de|del|della|delle|dei|di|da|do|dos|das|la|le|les|du|des|d'|l'|el|los|las)"
_NUMBER_TYPE_FIRST_RE = re.compile(
    r"(?<![\w£$€#:/.,+-])\d{1,4}(?:\s?(?i:bis|ter))?,?\s+"
    rf"(?i:{_ROMANCE_TYPES})\s+(?:(?i:{_PARTICLES})\s*)*"
    r"[^\W\d_][\w'’.-]{0,30}(?:[ -](?:(?i:" + _PARTICLES + r")\s*)*[A-ZÀ-Þ][\w'’.-]{0,30}){0,3}"
)
# Continental, name then number: "Hauptstraße 12", "Via Roma 12", "Calle de Alcalá, 45".
_COMPOUND_SUFFIXES = (
    r"straße|strasse|str\.|straat|gasse|allee|platz|damm|ufer|chaussee|weg|pfad|markt|laan"
    r"|gracht|plein|kade|dijk|singel|steeg|-ring"
)
_NAME_NUMBER_RE = re.compile(
    r"(?<![\w'’-])(?:"
    rf"(?P<compound>[^\W\d_][\w'’-]{{0,40}}?(?i:{_COMPOUND_SUFFIXES}))"
    r"|(?P<multi>(?:[A-ZÀ-Þ][\w'’.-]{0,30}[ -]){1,2}"
    r"(?:Straße|Strasse|Str\.|Weg|Gasse|Allee|Platz|Ring|Damm|Ufer|Chaussee))"
    rf"|(?P<prefix>(?i:{_ROMANCE_TYPES}|corso|largo|vicolo|rambla|ronda)\s+"
    rf"(?:{_PARTICLES}\s*)*[A-ZÀ-Þ][\w'’.-]{{0,30}}(?:\s+(?:{_PARTICLES}\s*)*[A-ZÀ-Þ][\w'’.-]{{0,30}}){{0,2}})"
    r"),?\s+(?P<num>\d{1,4}(?:\s?[a-zA-Z])?)(?![\w'’-]|[.,/:]\d)"
)
_ANYCASE_ROMANCE = _words("rue calle viale piazza carrer rua avenida rambla")

# Tails that continue an address: unit, town, postcode, state + ZIP, continental postcode + city.
_TAIL_RES = (
    re.compile(
        r"\s*,?\s*(?i:apt|apartment|suite|ste|unit|flat|fl|floor|#)\.?\s*#?\s*\d{1,4}[A-Za-z]?\b"
    ),
    re.compile(rf"\s*,?\s*(?i:{_UK_POSTCODE})(?![\w-])"),
    re.compile(r"\s*,?\s*(?:[A-Z]{2}|[A-Z][a-z]+(?: [A-Z][a-z]+)?)\s+\d{5}(?:-\d{4})?(?![\w-])"),
    re.compile(r"\s*,?\s*(?:[A-Z]{1,2}-)?(?:\d{4}\s?[A-Z]{2}|\d{4,5})\s+[A-ZÀ-Þ][\w'’-]{1,30}"),
    re.compile(
        r"\s*,\s*(?P<town>[A-ZÀ-Þ][\w'’.-]{1,30}(?:[ -][A-ZÀ-Þ][\w'’.-]{1,30}){0,2})"
        r"(?:\s\d{1,2}(?![\w.,:/]))?"
    ),
)
_TOWN_BEFORE_POSTCODE_RE = re.compile(
    r"(?:(?:[A-ZÀ-Þ][\w'’.-]{0,30}\s+){1,3}" + rf"(?i:{_TYPE_ALT})\.?,\s*)?"
    r"[A-ZÀ-Þ][\w'’.-]{1,30}(?:[ -][A-ZÀ-Þ][\w'’.-]{1,30})?,?\s+\Z"
)

# Words before a number that make it a size, quantity or reference rather than a house number.
_NOT_HOUSE_NUMBER_BEFORE = _words(
    "size sizes eu uk us fr it x qty quantity pack packs of order orders no nr number ref item"
    " items page step version v level pair pairs code and or only about around approx"
)


def _find_addresses(text: str) -> list[tuple[int, int]]:
    has_digit = any(ch.isdigit() for ch in text)
    spans: list[tuple[int, int]] = []
    if has_digit:
        for m in _NUMBER_FIRST_RE.finditer(text):
            if _house_number_ok(text, m) and _street_words_ok(m.group("words"), m.group("type")):
                spans.append((m.start(), _extend_tail(text, m.end())))
        for m in _NUMBER_TYPE_FIRST_RE.finditer(text):
            if _previous_word(text, m.start()) not in _NOT_HOUSE_NUMBER_BEFORE:
                spans.append((m.start(), _extend_tail(text, m.end())))
        for m in _NAME_NUMBER_RE.finditer(text):
            if _name_number_ok(m):
                spans.append((m.start(), _extend_tail(text, m.end())))
        for m in _PO_BOX_RE.finditer(text):
            spans.append((m.start(), _extend_tail(text, m.end())))
        for m in _UK_POSTCODE_RE.finditer(text):
            spans.append((_extend_town_before(text, m.start()), m.end()))
        for m in _EIRCODE_RE.finditer(text):
            if any(ch.isalpha() for ch in m.group()[3:]):
                spans.append(m.span())
    return spans


def _previous_word(text: str, pos: int) -> str:
    m = re.search(r"([^\W\d_]+)[\s:#.]*\Z", text[max(0, pos - 20) : pos])
    return m.group(1).lower() if m else ""


def _house_number_ok(text: str, m: re.Match[str]) -> bool:
    if m.group("unit"):
        return True
    return _previous_word(text, m.start()) not in _NOT_HOUSE_NUMBER_BEFORE


def _street_words_ok(words: str, street_type: str) -> bool:
    """Why: "3 days on the way" and "2 pairs of road shoes" are not addresses."""
    tokens = words.split()
    kind = street_type.lower().rstrip(".")
    capitalised = all(t[0].isupper() or t.lower() in ("de", "la", "of") for t in tokens)
    if kind in _WEAK_TYPES and not (street_type[0].isupper() and capitalised):
        return False
    for t in tokens:
        low = t.lower().strip(".'’")
        if low in _STOPWORDS and low not in ("the", "old", "new", "st", "upper", "lower"):
            return False
        if low in _GOODS or low in _UNITS:
            return False
    return True


def _name_number_ok(m: re.Match[str]) -> bool:
    name = m.group("compound") or m.group("multi") or m.group("prefix")
    first = name.split()[0].lower()
    if m.group("prefix"):
        return name[0].isupper() or first in _ANYCASE_ROMANCE
    if m.group("compound"):
        low = name.lower()
        if low.endswith(("straße", "strasse", "str.", "straat")):
            return len(name) > 6
        return name[0].isupper() and len(name) > 5
    return True


def _extend_tail(text: str, end: int) -> int:
    for _ in range(6):
        for tail in _TAIL_RES:
            m = tail.match(text, end)
            if not m:
                continue
            town = m.groupdict().get("town")
            if town and all(w.lower() in _STOPWORDS for w in town.split()[:2]):
                continue  # ", Thanks" or ", Please" is not a town
            end = m.end()
            break
        else:
            break
    return end


def _extend_town_before(text: str, start: int) -> int:
    window_start = max(0, start - 80)
    m = _TOWN_BEFORE_POSTCODE_RE.search(text, window_start, start)
    if not m:
        return start
    first = m.group().split()[0].strip(",").lower()
    if first in _STOPWORDS:
        return start
    return m.start()


# ---------------------------------------------------------------------------------------------
# Names

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+(?:['’][^\W\d_]+)*)*")

# Common English (and chat) words: never part of a name, whatever the gazetteer says.
_STOPWORDS = _words(
    "a about above after again against ago all also am an and any anyone anything are aren't"
    " around as at away back be because been before being below best better between both but"
    " by can can't cannot could couldn't did didn't do does doesn't doing don't done down"
    " during each either else even ever every few for from further get gets getting got had"
    " hadn't has hasn't have haven't having he her here hers herself him himself his how i"
    " i'd i'll i'm i've if in into is isn't it it's its itself just let let's like made make"
    " many me might mine more most much must my myself need needs never new next no nor not"
    " now of off ok okay old on once one only or other our ours ourselves out over own please"
    " pls plz really same see seen shall she should shouldn't since so some still such sure"
    " than that that's the their theirs them themselves then there there's these they this"
    " those though through till to too under until up upon us very was wasn't we we're were"
    " weren't what when where which while who whom whose why will with within without won't"
    " would wouldn't yes yet you you're your yours yourself yourselves"
    " hi hello hey dear thanks thank thx ty cheers regards bye goodbye sorry welcome yeah yep"
    " yup nope oh ah um hmm lol great good fine nice happy glad afraid sad angry annoyed"
    " frustrated disappointed confused worried unhappy pleased interested able unable ready"
    " here there today tomorrow yesterday tonight morning afternoon evening night week weekend"
    " month year asap urgent urgently again already soon late early quickly"
    " monday tuesday wednesday thursday friday saturday sunday january february march july"
    " september october november december mon tue wed thu fri sat sun jan feb mar apr jun jul"
    " aug sep sept oct nov dec christmas easter"
    " order orders ordered parcel package delivery deliver delivered shipping ship shipped"
    " dispatch dispatched refund refunds return returns returned exchange cancel cancelled"
    " invoice receipt payment paid pay account login password email phone number address"
    " postcode tracking courier store shop online website app customer service support team"
    " staff manager agent bot human person someone somebody everyone everybody all guys folks"
    " mate sir madam miss mister ma'am love hun babe friend"
    " item items product products size colour color price discount code voucher coupon sale"
    " stock help issue problem question query complaint thing stuff"
    " looking trying waiting writing contacting calling messaging asking wondering hoping"
    " going coming still also told said says asked wanted want wants"
    " an ab ad co con cor des fe ko lo na se si so ta tu un ya yo ye"
    " uk eu usa us gb de fr nl es it at be ie"
)

# Words that are also first names: masked only with a strong cue ("my name is", Mr/Mrs,
# a sign-off at the end of a line), after "I'm"/"this is", or after a greeting when a comma
# follows ("Hi Will,").
_AMBIGUOUS_WORDS = _words(
    "will may hope grace faith joy charity patience destiny dawn bill mark frank grant hunter"
    " dean earl guy jack max sue dale drew pat rob ron ted don dick gene jude lance cole kent"
    " carry marry constant earnest ernest desire angel alien job joke line lies trees floor"
    " tea tiny rein ward wade wil jan jet lee lex mat mel meta pier pol sol ton una vita bas"
    " ans ant ina ine ita ger grit han hay gale lore luz mar mart nel nic pere roos mien flor"
    " paz jean jeans jelly rose ruby olive amber crystal daisy hazel heather holly iris ivy"
    " lily violet ginger sandy misty kitty penny pearl berry brandy candy cherry coral jade"
    " ivory sage scarlet sienna poppy saffron willow honey melody harmony bianca rosa blanca"
    " sunny rusty dusty stormy rocky buddy lucky king queen prince princess duke baron major"
    " noble sterling hero justice liberty unity marvel genesis cruz reyes santos star sky"
    " river forest stone rock baker carter cooper parker porter turner walker taylor mason"
    " page norman roman christian german russell harley shelby carol noel eve bob ray nan"
    " son ange ank deb dik fay glen greet laurel marine matt wolf bell brook bud clay cliff"
    " dot fern gay gray hale hardy heath honor long loyal miles nickel pip piper rain rich"
    " young cherish chance kay"
)
# Never a person after "this is" or "it's": months, seasons, places, brands and companies.
_NOT_PERSON = _words(
    "may june april august summer autumn winter spring valentine"
    " chelsea dallas florence geneva austin jackson sydney adelaide madison victoria regina"
    " alexandria savannah sierra georgia virginia carolina dakota france italia jordan"
    " lourdes paris york lincoln chester clare kerry warren breda brooke camden devon"
    " santiago valencia lima orlando trinidad salvador india china kenya israel houston"
    " denver phoenix london milan roma torino verona basel brooklyn derry cavan tyrone"
    " america asia argentina montana mali chad rica santa"
    " zara chanel armani cos levi marni seiko siri alexa valentino tiffany lloyd mercedes"
    " chase royal chino merino silver"
)
_AMBIGUOUS = _AMBIGUOUS_WORDS | _NOT_PERSON

# Product and store words: "the Emma Dress", "Chelsea Boots" are products, not people.
_GOODS = _words(
    "dress dresses jeans jean jacket jackets coat coats boot boots shoe shoes trainers sneakers"
    " sandals heels loafers pumps slippers top tops tee tees shirt shirts blouse skirt skirts"
    " trousers pants shorts jumper jumpers sweater sweaters cardigan hoodie hoodies bag bags tote"
    " clutch backpack wallet purse belt scarf hat cap beanie gloves socks tights bra briefs"
    " pyjamas swimsuit bikini necklace earrings bracelet ring watch sunglasses collection"
    " range edition fit style set pack midi maxi mini slim skinny straight relaxed wide gold"
    " silver black white red blue green grey gray navy pink beige brown cream khaki denim"
    " leather suede wool cotton linen cashmere silk velvet print stripe stripes floral candle"
    " candles vase mug lamp cushion throw perfume fragrance bottle model line"
)
_UNITS = _words(
    "mile miles km kg g cm mm m inch inches ft feet day days week weeks hour hours min mins"
    " minute minutes month months year years times x percent euro euros pound pounds dollar"
    " dollars quid items pairs pieces"
)
_STREET_WORDS = _words(
    "street road avenue lane drive way close place court park hill square gardens station"
    " airport centre center mall market bridge st rd ave"
)
# Brands and product lines named after people.
_NAME_BRANDS = frozenset(
    s.strip()
    for s in (
        "calvin klein, ralph lauren, tommy hilfiger, tommy jeans, hugo boss, ted baker,"
        " paul smith, michael kors, marc jacobs, kate spade, tory burch, stella mccartney,"
        " vivienne westwood, karl lagerfeld, tom ford, tom tailor, jack wolfskin, jack wills,"
        " jack jones, victoria beckham, charlotte tilbury, laura ashley, karen millen,"
        " kurt geiger, fred perry, ben sherman, henri lloyd, jimmy choo, stan smith,"
        " chuck taylor, mary jane, mary janes, peter pan, dr martens, doc martens,"
        " miss selfridge, marc cain, gerry weber, betty barclay, lee cooper, joe browns,"
        " giorgio armani, christian dior, christian louboutin, carolina herrera, isabel marant,"
        " alexander mcqueen, alexander wang, max mara, russell hobbs, estee lauder,"
        " estée lauder, bobbi brown, emilio pucci, jean paul, yves saint, pierre cardin,"
        " oliver bonas, jo malone, sam edelman, steve madden, kenneth cole, anne klein,"
        " john lewis, emma bridgewater, cath kidston, orla kiely, james perse, john smedley,"
        " charles tyrwhitt, thomas pink, jil sander, marc o'polo, nina ricci, paco rabanne"
    ).split(",")
)

_TITLES = _words(
    "Mr Mrs Ms Mx Miss Dr Prof Sir Dame Herr Frau Mme Mlle Madame Monsieur Signor Signora Sr Sra"
)
_SURNAME_PARTICLES = _words("van von der den de du da di del della le la ter ten zu")
_DETERMINERS = _words("the a an your our their this that these those my his her")

# Cues, as lowercased word sequences. Apostrophes are normalised to "'".
_STRONG_CUES = (
    ("my", "name", "is"),
    ("my", "name's"),
    ("my", "names"),
    ("my", "full", "name", "is"),
    ("name", "is"),
    ("my", "surname", "is"),
    ("surname", "is"),
    ("i", "am", "called"),
    ("i'm", "called"),
    ("im", "called"),
)
_LABEL_CUES = (("name",), ("full", "name"), ("surname",), ("first", "name"), ("last", "name"))
_WEAK_CUES = (
    ("i'm",),
    ("im",),
    ("i", "am"),
    ("this", "is"),
    ("it's",),
    ("it", "is"),
    ("here", "is"),
    ("call", "me"),
    ("ask", "for"),
    ("speak", "to"),
    ("spoke", "to"),
    ("spoke", "with"),
    ("talked", "to"),
    ("for",),
    ("to",),
    ("from",),
    ("by",),
    ("with",),
    ("and",),
    ("attn",),
    ("attention",),
    ("recipient",),
)
_INTRODUCTIONS = {("i'm",), ("im",), ("i", "am"), ("this", "is"), ("it's",)}
_GREETINGS = (("hi",), ("hello",), ("hey",), ("dear",), ("morning",))
_SIGN_OFFS = (
    ("thanks",),
    ("thank", "you"),
    ("thx",),
    ("cheers",),
    ("regards",),
    ("kind", "regards"),
    ("best", "regards"),
    ("best",),
    ("best", "wishes"),
    ("many", "thanks"),
    ("rgds",),
    ("ta",),
    ("br",),
    ("sincerely",),
    ("yours",),
    ("love",),
)
_CUE_STARTS = frozenset(
    cue[0] for cue in _STRONG_CUES + _LABEL_CUES + _WEAK_CUES + _GREETINGS + _SIGN_OFFS
)


# Faker locales of the countries the store serves ("common" names), and of everyone else.
_SERVED_LOCALES = (
    "en_GB", "en_IE", "en_US", "it_IT", "es_ES", "fr_FR", "fr_BE", "nl_BE", "nl_NL", "de_DE",
    "de_AT",
)  # fmt: skip


def _locale_first_names(locale: str) -> set[str]:
    from importlib import import_module

    try:
        provider = import_module(f"faker.providers.person.{locale}").Provider
    except (ImportError, AttributeError):
        return set()
    names: set[str] = set()
    for attribute in ("first_names", "first_names_male", "first_names_female"):
        values = getattr(provider, attribute, ())
        if isinstance(values, (tuple, list, dict)):  # some locales compute theirs
            names |= {str(name).lower() for name in values}
    return {name for name in names if len(name) >= 2 and name.replace("-", "").isalpha()}


@lru_cache(maxsize=1)
def _first_names() -> tuple[frozenset[str], frozenset[str]]:
    """(common, known) lowercased first names from Faker's per-locale name lists.

    Common: a first name in a country the store serves; enough on its own before a surname.
    Known: a first name in any of Faker's locales; used only after a cue such as "I'm".
    """
    import faker.providers.person as person

    common: set[str] = set()
    for locale in _SERVED_LOCALES:
        common |= _locale_first_names(locale)
    known = set(common)
    for module in pkgutil.iter_modules(person.__path__):
        known |= _locale_first_names(module.name)
    # "ship to Ireland", "from Jordan": a country is a destination before it is a name.
    from faker.providers.address.en_US import Provider as Addresses

    countries = {country.lower() for country in Addresses.countries}
    common -= _AMBIGUOUS | _STOPWORDS | countries
    known -= _STOPWORDS | countries
    return frozenset(common), frozenset(known)


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    text: str
    low: str


def _is_cap(tok: _Tok) -> bool:
    return tok.text[0].isupper() and (len(tok.text) == 1 or not tok.text.isupper())


def _name_part(tok: _Tok) -> tuple[int, str]:
    """End offset and lowercase form without a possessive "'s"."""
    if tok.low.endswith("'s") and len(tok.low) > 3:
        return tok.end - 2, tok.low[:-2]
    return tok.end, tok.low


class _NameFinder:
    """Walks the words of one text once; each rule adds (start, end) spans."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = [
            _Tok(m.start(), m.end(), m.group(), m.group().lower().replace("’", "'"))
            for m in _WORD_RE.finditer(text)
        ]
        self.common, self.known = _first_names()
        self.spans: list[tuple[int, int]] = []

    def gap(self, i: int) -> str:
        """The text between token i-1 and token i."""
        return self.text[self.toks[i - 1].end : self.toks[i].start]

    def cue_at(self, i: int, cues: Iterable[tuple[str, ...]]) -> int:
        """Index after the longest cue starting at token i, or -1."""
        best = -1
        for cue in cues:
            k = len(cue)
            if i + k > len(self.toks) or tuple(t.low for t in self.toks[i : i + k]) != cue:
                continue
            if all(self.gap(j).strip() == "" for j in range(i + 1, i + k)):
                best = max(best, i + k)
        return best

    def add(self, first: int, last: int) -> None:
        end, _ = _name_part(self.toks[last])
        self.spans.append((self.toks[first].start, end))

    def surnames(self, j: int, limit: int = 2) -> int:
        """Index of the last capitalised surname word following token j (or j)."""
        last = j
        while last + 1 < len(self.toks) and last - j < limit:
            nxt = self.toks[last + 1]
            gap = self.gap(last + 1)
            initial = len(self.toks[last].text) == 1 and gap in (". ", ".")
            if gap != " " and not initial:
                break
            if nxt.low in _SURNAME_PARTICLES and last + 2 < len(self.toks):
                # "Jan de Vries", "Maria van der Berg": take the particles with the surname.
                k = last + 1
                while k < len(self.toks) and self.toks[k].low in _SURNAME_PARTICLES:
                    k += 1
                if k < len(self.toks) and _is_cap(self.toks[k]) and self.gap(k) == " ":
                    if self._surname_ok(self.toks[k]):
                        last = k
                        continue
                break
            if not _is_cap(nxt) or not self._surname_ok(nxt):
                break
            last += 1
        return last

    @staticmethod
    def _surname_ok(tok: _Tok) -> bool:
        low = _name_part(tok)[1]
        return not (low in _STOPWORDS or low in _GOODS or low in _STREET_WORDS)

    def followed_by_goods(self, last: int) -> bool:
        nxt = last + 1
        return nxt < len(self.toks) and self.toks[nxt].low in _GOODS and self.gap(nxt) == " "

    def is_brand(self, first: int, last: int) -> bool:
        words = [t.low for t in self.toks[first : last + 1]]
        return any(" ".join(words[a : a + 2]) in _NAME_BRANDS for a in range(len(words)))

    def ends_line(self, last: int) -> bool:
        rest = self.text[self.toks[last].end :]
        line = rest.split("\n", 1)[0]
        return not any(ch.isalnum() for ch in line)

    def run(self) -> list[tuple[int, int]]:
        toks = self.toks
        n = len(toks)
        for i in range(n):
            # "Mr Smith", "Dr. Anna Weber"
            if toks[i].text in _TITLES and i + 1 < n and self.gap(i + 1) in (" ", ". ", " . "):
                first = i + 1
                low = toks[first].low
                if _is_cap(toks[first]) and (low not in _STOPWORDS or low in _AMBIGUOUS):
                    last = self.surnames(first, 2)
                    if not self.is_brand(i, last):
                        self.add(first, last)
                continue
            if toks[i].low not in _CUE_STARTS:
                self.bigram(i)
                continue
            j = self.cue_at(i, _STRONG_CUES)
            if j != -1 and j < n:
                self.strong(j)
                continue
            j = self.cue_at(i, _LABEL_CUES)
            if j != -1 and j < n and self.gap(j).strip() == ":":
                self.label(j)
                continue
            j = self.cue_at(i, _SIGN_OFFS)
            if j != -1 and j < n and self.gap(j).strip(" ,!.-\t\r\n") == "":
                self.sign_off(j)
            j2 = self.cue_at(i, _GREETINGS)
            if j2 != -1 and j2 < n and self.gap(j2).strip(" ,") == "":
                self.greeting(j2)
            j3 = self.cue_at(i, _WEAK_CUES)
            if j3 != -1 and j3 < n and self.gap(j3) == " ":
                cue = tuple(t.low for t in toks[i:j3])
                self.weak(j3, introduction=cue in _INTRODUCTIONS)
            self.bigram(i)
        self.last_line()
        return self.spans

    def strong(self, j: int) -> None:
        """After "my name is": any capitalised word, or a lowercase known name."""
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if (low in _STOPWORDS and low not in _AMBIGUOUS) or low in _GOODS:
            return
        if tok.text[0].isupper():
            self.add(j, self.surnames(j, 3) if not tok.text.isupper() else self.caps_run(j))
        elif low in self.known or low in _AMBIGUOUS:
            self.add(j, self.lower_surname(j))

    def label(self, j: int) -> None:
        """ "Name: Anna Weber"; a single unknown word ("Name: Standard") is not taken."""
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if not tok.text[0].isupper() or low in _STOPWORDS or low in _GOODS:
            return
        last = self.surnames(j, 3) if not tok.text.isupper() else self.caps_run(j)
        if last > j or low in self.known or low in _AMBIGUOUS:
            self.add(j, last)

    def caps_run(self, j: int) -> int:
        last = j
        while (
            last + 1 < len(self.toks)
            and last - j < 2
            and self.toks[last + 1].text.isupper()
            and self.gap(last + 1) == " "
            and self.toks[last + 1].low not in _STOPWORDS
        ):
            last += 1
        return last

    def lower_surname(self, j: int) -> int:
        nxt = j + 1
        if nxt >= len(self.toks) or self.gap(nxt) != " ":
            return j
        tok = self.toks[nxt]
        low = tok.low
        if not tok.text.islower() or len(low) < 2 or low in _STOPWORDS or low in _GOODS:
            return j
        if low in _UNITS:
            return j
        return nxt

    def weak(self, j: int, introduction: bool) -> None:
        """After "for", "to", "with": a known, unambiguous first name.

        After an introduction ("I'm", "this is") also a capitalised word that is also a name
        ("I'm Will"), or a lowercase common first name ("im tom").
        """
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if low in _NOT_PERSON or (low in _STOPWORDS and low not in _AMBIGUOUS):
            return
        if low in _AMBIGUOUS and not (introduction and _is_cap(tok)):
            return  # "I'm Will" is a name, "for Will" or "to Mark" may not be
        if _is_cap(tok) and (low in self.known or low in _AMBIGUOUS):
            last = self.surnames(j)
            if not self.followed_by_goods(last) and not self.is_brand(j, last):
                self.add(j, last)
        elif introduction and tok.text.islower() and low in self.common:
            self.add(j, self.lower_surname(j))

    def greeting(self, j: int) -> None:
        """ "Hi Anna", and "Hi Will," where the comma says it is a name."""
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if not _is_cap(tok) or low in _NOT_PERSON or not (low in self.known or low in _AMBIGUOUS):
            return
        last = self.surnames(j)
        after = self.text[self.toks[last].end : self.toks[last].end + 1]
        if low in _AMBIGUOUS and not (after in (",", "!", "\n", "") or self.ends_line(last)):
            return
        if not self.followed_by_goods(last):
            self.add(j, last)

    def sign_off(self, j: int) -> None:
        """ "Thanks Anna for sorting it"; "Thanks, Will" only where it ends the line."""
        tok = self.toks[j]
        low = _name_part(tok)[1]
        if not _is_cap(tok) or low in _NOT_PERSON or not (low in self.known or low in _AMBIGUOUS):
            return
        last = self.surnames(j)
        if low not in _AMBIGUOUS or self.ends_line(last):
            self.add(j, last)

    def bigram(self, i: int) -> None:
        """A common first name followed by a capitalised surname: "Maria Schmidt"."""
        toks = self.toks
        tok = toks[i]
        if i + 1 >= len(toks) or not _is_cap(tok) or tok.low not in self.common:
            return
        if i > 0 and toks[i - 1].low in _DETERMINERS and self.gap(i).strip() == "":
            return
        last = self.surnames(i)
        if last == i or self.followed_by_goods(last) or self.is_brand(i, last):
            return
        self.add(i, last)

    def last_line(self) -> None:
        """A lone first name on the last line signs the message: "...\\nAnna".

        A message that is nothing but a name ("Anna Schmidt", "tom") answers "what's your
        name?" and is taken in either case.
        """
        stripped = self.text.rstrip()
        line_start = stripped.rfind("\n") + 1
        line = [t for t in range(len(self.toks)) if self.toks[t].start >= line_start]
        if not 1 <= len(line) <= 3:
            return
        first, last = line[0], line[-1]
        prefix = self.text[line_start : self.toks[first].start].strip(" -–—~*")
        if prefix or self.toks[first].low not in self.common or not self.ends_line(last):
            return
        words = [self.toks[t] for t in line]
        if any(t.low in _STOPWORDS or t.low in _GOODS or t.low in _UNITS for t in words):
            return
        whole_message = line_start == 0
        if all(_is_cap(t) for t in words) or (
            whole_message and all(t.text.islower() for t in words)
        ):
            self.add(first, last)


_LOWERCASE_NAME_CUE_RE = re.compile(r"\b(?:i['’]?m|i am|this is|it['’]s|name)\b", re.IGNORECASE)


def _find_names(text: str) -> list[tuple[int, int]]:
    # Lowercase names are taken only after a cue or as the whole message; a cheap exit for
    # the usual lowercase chat line.
    lowercase_only = not any(ch.isupper() for ch in text)
    if lowercase_only and len(text.split()) > 3 and not _LOWERCASE_NAME_CUE_RE.search(text):
        return []
    return _NameFinder(text).run()


# ---------------------------------------------------------------------------------------------
# Putting it together


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end


def find_personal_data(text: str) -> list[Redaction]:
    """Personal data in `text`: non-overlapping, sorted by position.

    Each detector proposes spans; a more certain kind (email > card > phone > address > name)
    keeps its characters and a weaker overlapping span keeps only what is left of it.
    """
    if not text or text.isspace():
        return []
    shadow = _hide_order_numbers(text)
    candidates = {
        "EMAIL": _find_emails(text),
        "CARD": _find_cards(text),
        "PHONE": _find_phones(shadow),
        "ADDRESS": _find_addresses(text),
        "NAME": _find_names(text),
    }
    taken: list[tuple[int, int]] = []
    found: list[Redaction] = []
    for kind in sorted(candidates, key=_PRIORITY.__getitem__):
        for start, end in _merge(candidates[kind]):
            for piece_start, piece_end in _subtract(start, end, taken):
                piece_start, piece_end = _trim(text, piece_start, piece_end)
                if piece_end - piece_start >= 2:
                    found.append(
                        Redaction(piece_start, piece_end, kind, text[piece_start:piece_end])
                    )
        taken = _merge(taken + [(r.start, r.end) for r in found])
    return sorted(found, key=lambda r: r.start)


def _subtract(start: int, end: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces = [(start, end)]
    for t_start, t_end in taken:
        nxt = []
        for p_start, p_end in pieces:
            if t_end <= p_start or p_end <= t_start:
                nxt.append((p_start, p_end))
                continue
            if p_start < t_start:
                nxt.append((p_start, t_start))
            if t_end < p_end:
                nxt.append((t_end, p_end))
        pieces = nxt
    return pieces


def mask_personal_data(text: str) -> MaskedText:
    """`text` with each piece of personal data replaced by its typed placeholder."""
    redactions = tuple(find_personal_data(text))
    parts = []
    last = 0
    for r in redactions:
        parts.append(text[last : r.start])
        parts.append(PLACEHOLDERS[r.kind])
        last = r.end
    parts.append(text[last:])
    return MaskedText("".join(parts), redactions)


def map_span(masked: MaskedText, start: int, end: int) -> tuple[int, int] | None:
    """Where the original span [start, end) is in the masked text; None if it was masked.

    Why: entity annotations (order numbers) in exported NLU data point into the original
    message and must be moved by the length changes of the placeholders before them.
    """
    if start < 0 or end < start:
        raise ValueError(f"not a span: ({start}, {end})")
    shift = 0
    for r in masked.redactions:
        if start == end:
            if r.start < start < r.end:
                return None
        elif r.start < end and start < r.end:
            return None
        if r.end <= start:
            shift += len(PLACEHOLDERS[r.kind]) - (r.end - r.start)
    return start + shift, end + shift
