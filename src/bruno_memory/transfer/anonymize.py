"""Anonymization of an export: personal data replaced by consistent, keyed tokens.

**Tokens.** Each detected value is normalized (emails lower-cased, phone numbers to E.164,
names and addresses case-folded with their whitespace collapsed) and replaced by
``<KIND_h>``, ``h`` the first 12 hex digits of HMAC-SHA256(secret, kind NUL value). The same
value is the same token everywhere one secret is used (a random one per export when none is
given), and no token can be reversed or confirmed without the secret. 48 bits make two
values of one kind share a token with probability at most n²/2⁴⁹: below 2·10⁻⁵ for 100,000
distinct values. Identifiers (a user id may be an email) become ``<kind>_<16 hex digits>``
of the exact value, unnormalized so that distinct ids stay distinct: with 64 bits, n ids
collide with probability at most n²/2⁶⁵, below 3·10⁻⁸ for a million ids.

**What is detected, and how** (in this order; a later match that overlaps an earlier one is
dropped, so a card number is never also a phone number):

- user info of URLs (``https://bob:hunter2@host``) and emails: patterns (RFC 5322's atom
  characters in the local part, so every address of hypothesis' ``emails()`` is found);
- IBANs (mod-97 checked), card numbers (13-19 digits, an issuer's prefix, Luhn checked),
  US SSNs (the SSA's never-issued areas, groups and serials excluded), IPv4 and IPv6
  addresses (validated by :mod:`ipaddress`; a dotted quad after "version" or "build" is
  a version, and loopback and unspecified addresses name no one): patterns with checks;
- street addresses: a number, capitalized words and a street suffix (St, Avenue, Road,
  Blvd, Close, Mews...), an optional unit and city, state and ZIP code; French ones
  (``12 bis rue de la Paix, 75002 Paris``); "City, ST 12345"; UK postcodes; PO boxes;
- phone numbers: Google's libphonenumber (the ``phonenumbers`` package, maintained and
  offline) through ``PhoneNumberMatcher`` with ``STRICT_GROUPING`` (valid numbers whose
  digits are grouped as their region groups them, so "4417-2291-88" is none), in
  international format or the national format of each of ``regions`` (US, GB and FR by
  default; DE is not, since its variable-length plan makes most digit groups valid), not
  after "order", "ticket", "#"...; plus any digit group after a cue ("call me at",
  "phone:", "mobile"...), which catches fictional and local numbers;
- person names: names learned from the store (:meth:`Anonymizer.learn_names`); the words
  after a cue ("my name is", "call me", "I'm", "my wife", "Regards,", a title such as
  "Mrs."); and the first names of Faker's en_US, en_GB and fr_FR person providers (MIT,
  maintained, offline; about 930 names), with the capitalized word that follows one.
  First names that are also common words, months or places ("April", "Grace", "Jordan",
  "Claude"...) count only when a surname of those lists follows them ("Grace Smith").
  Each word of a name is its own token, so "Jane", "Jane Doe" and "Ms. Doe" agree.

**Measured** on LoCoMo's 3,435 conversation turns (its speakers learned): the 35 distinct
words replaced as names were all names; missed were nicknames of learned names ("Mel"),
pets ("Max"), and names in no list without a cue ("Ed Sheeran"). Throughput: about 40,000
such turns a second; a phone number costs about 0.5 ms of libphonenumber the first time a
run of digits is seen (runs are memoized).

**Alternatives considered.** presidio-analyzer needs a spaCy model that is not on PyPI;
scrubadub's name detection needs NLTK/TextBlob data downloaded at run time; commonregex
(2014) and pyap (2020) are unmaintained; names-dataset is hundreds of megabytes; the name
lists of gender-guesser are GPL. Name detection by lists misses names that are in no list
and that no cue introduces, and lower-case names; the store's own names are learned to
narrow that gap.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TypeAlias

import phonenumbers

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

_TEXT_HEX = 12
_ID_HEX = 16

# --- Patterns -------------------------------------------------------------------------------

_USERINFO = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://([^\s/?#@]+)@")
_ATOM = r"[\w!#$%&'*+/=?^`{|}~.-]"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_EMAIL = re.compile(
    rf"(?<!{_ATOM}){_ATOM}+@(?:{_LABEL}\.)+[^\W\d_](?:[\w-]{{0,61}}[^\W_])?(?![\w-])"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"(?<![\d+-])\d(?:[ -]?\d){12,18}(?![\d-])")
# Visa, Mastercard, American Express, Diners, JCB, Discover, UnionPay and Maestro.
_CARD_PREFIX = re.compile(r"4|5[0-9]|2[2-7]|3[04-8]|6")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_VERSION_BEFORE = re.compile(r"(?i)\b(?:version|build|release|ver)\.?\s*$")
_IPV6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:]*\d)(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"
)

_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|"
    "NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
_ZIP = r"\d{5}(?:-\d{4})?"
_UK_POSTCODE = r"(?:GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})"
_CAP = r"[A-ZÀ-ÖØ-Þ][\w'\u2019-]*"
# A city's words are title case, so that "London NW1 6XE" leaves the postcode to its pattern.
_CITY_WORD = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ][^\W\d_]*"
_CITY = rf"{_CITY_WORD}(?:[ \t]{_CITY_WORD}){{0,2}}"
_SUFFIX = (
    r"(?i:street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|"
    r"way|terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|crescent|cres|"
    r"close|grove|gardens|gdns|row|mews|walk|alley|plaza|loop|pike)\b\.?"
    r"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"
)
_UNIT = (
    r"(?:,?[ \t]*(?i:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm)\.?[ \t]*#?[ \t]*[\w-]+"
    r"|,?[ \t]*#[ \t]*[\w-]+)"
)
_STREET = re.compile(
    rf"(?:\b(?i:flat|apt|apartment|unit|suite)\.?[ \t]*[\w-]+,?[ \t]+)?"
    rf"\b\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?,?[ \t]+"
    rf"(?:(?:[NSEW]|N[EW]|S[EW]|North|South|East|West)\.?[ \t]+)?"
    rf"(?:(?:{_CAP}|\d{{1,3}}(?:st|nd|rd|th))[ \t]+){{1,4}}{_SUFFIX}"
    rf"{_UNIT}?"
    rf"(?:,[ \t]*{_CITY})?(?:,?[ \t]+(?:{_STATES})\b)?(?:,?[ \t]+(?:{_ZIP}|{_UK_POSTCODE})\b)?"
)
_FR_PARTICLE = r"(?:(?:de|du|des|la|le|les|sur|en)[ \t]+|[ld][\u2019'])"
_FRENCH = re.compile(
    rf"\b\d{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+"
    rf"(?i:rue|avenue|av\.|boulevard|bd|place|allée|allee|impasse|chemin|quai|route|cours)[ \t]+"
    rf"(?:{_FR_PARTICLE}*{_CAP}[ \t]*){{1,6}}"
    rf"(?:,?[ \t]*\d{{5}}[ \t]+{_CAP}(?:[ -]{_CAP})*)?"
)
_CITY_STATE_ZIP = re.compile(rf"\b{_CITY},[ \t]*(?:{_STATES})[ \t]+{_ZIP}\b")
_POSTCODE = re.compile(rf"\b{_UK_POSTCODE}\b")
_PO_BOX = re.compile(r"\b(?i:p\.?[ \t]?o\.?[ \t]*box|post[ \t]+office[ \t]+box)[ \t]+\d+\b")
_ADDRESSES = (_STREET, _FRENCH, _CITY_STATE_ZIP, _POSTCODE, _PO_BOX)

# Where libphonenumber looks: runs of digits and phone punctuation with 7 digits or more
# (parsing costs about 0.1 ms a region; most texts have no such run). A date is none.
_PHONE_RUN = re.compile(r"(?<![\w+(.])[+(]{0,2}\d[\d \t().\-]{5,30}\d")
_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_DIGIT = re.compile(r"\d")
# Entries of the memos of an instance (phone runs, tokens), emptied when full.
_MEMO_SIZE = 65_536
_PHONE_CUE = re.compile(
    r"(?i:\b(?:call|text|reach|ring|phone|tel|telephone|mobile|cell|whatsapp|fax|number|numéro)"
    r"\b(?:[ \t]+(?:me|us|him|her|them|at|on|is|est|au|number|no|nr))*)[ \t]*[:.#]?[ \t]*"
    r"(\+?\(?\d[\d \t().-]{5,}\d)"
)

# What an order, a ticket or an invoice number follows: not a phone number then.
_ID_BEFORE = re.compile(
    r"(?i)(?:#|\b(?:order|invoice|ref|reference|ticket|tracking|confirmation|booking|case|sku|"
    r"serial|id)\b[ \t:#.-]*)$"
)

# A capitalized word, a possessive 's left out ("Emma's" is "Emma").
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][^\W\d_]*(?:['\u2019-](?!s\b)[^\W\d_]+)*"
_WORD = re.compile(rf"(?<![\w'\u2019-]){_NAME_WORD}")
_RELATIVE = (
    r"husband|wife|partner|boyfriend|girlfriend|fianc[eé]e?|son|daughter|brother|sister|mom|"
    r"mum|mother|dad|father|friend|best[ \t]+friend|colleague|coworker|co-worker|boss|manager|"
    r"neighbou?r|cousin|uncle|aunt|niece|nephew|grandma|grandpa|grandmother|grandfather|"
    r"kid|child|baby|roommate|flatmate|therapist|doctor|dentist|teacher|coach|dog|cat|puppy"
)
_NAME_CUE = re.compile(
    rf"(?:\b(?:[Mm]y[ \t]+name[ \t]+is|[Mm]y[ \t]+name['\u2019]s"
    rf"|[Cc]alls?[ \t]+me|[Gg]o(?:es)?[ \t]+by"
    rf"|(I)[ \t]+am|(I)['\u2019]m"
    rf"|[Mm]y[ \t]+(?:{_RELATIVE})(?:['\u2019]s[ \t]+name[ \t]+is)?,?"
    rf"|(?:[Kk]ind[ \t]+|[Bb]est[ \t]+|[Ww]arm[ \t]+)?[Rr]egards,?|[Ss]incerely,?|[Cc]heers,?)"
    rf"|\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Mme|Mlle|Madame|Monsieur|Sir)\b\.?)"
    rf"(?:[ \t]+|[ \t]*\n[ \t]*)({_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}})"
)


def _word_set(words: str) -> frozenset[str]:
    """The set of the whitespace-separated words of a string."""
    return frozenset(words.split())


# Capitalized words that are not names: function words, greetings, days and months.
_STOP = _word_set(
    """
    i a an and or but if then so to of in on at by for with from as is are was were be been
    has have had do does did will would can could should may might must shall not no yes it
    he she they we you me my your his her our their this that these those there here what
    who when where why how hi hello hey dear thanks thank ok okay please sorry just also
    monday tuesday wednesday thursday friday saturday sunday january february march april
    june july august september october november december
    """
)
# Capitalized words that rarely follow "I'm": a state, a nationality, a language.
_NOT_AFTER_IM = _word_set(
    """
    not so sure really very just back here home fine good glad happy sorry afraid going
    american british english canadian french german spanish italian chinese japanese indian
    irish scottish welsh australian mexican brazilian russian dutch swiss polish
    """
)
# First names of the lists that are also common words, months, places or products.
_AMBIGUOUS = _word_set(
    """
    amber angel april austin autumn bill brandy brooke chad chase chelsea cheyenne claude
    alexa crystal dakota dale dawn dean destiny diamond don drew earl ebony faith frank gene
    georgia grace grant guy hazel heather holly hope hunter jack jade jasmine jay jordan joy
    june kent lance lee madison mark marine mason max melody mercedes misty nancy olive
    paige parker penny pierre preston ray raven robin rose rosemary sandy savannah sierra
    sue summer sydney tanner taylor troy victoria virginia warren will may sally constance
    valentine luce
    """
)


def _fold(value: str) -> str:
    """A name's or an address's normal form: case-folded, whitespace collapsed."""
    return " ".join(value.casefold().split())


@lru_cache(maxsize=1)
def _name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """Case-folded first names and surnames of Faker's en_US, en_GB and fr_FR providers."""
    from faker.providers.person import en_GB, en_US, fr_FR

    first: set[str] = set()
    last: set[str] = set()
    for module in (en_US, en_GB, fr_FR):
        provider = module.Provider
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            first.update(name.casefold() for name in getattr(provider, attribute, ()))
        last.update(name.casefold() for name in provider.last_names)
    return frozenset(first), frozenset(last)


def _e164(number: phonenumbers.PhoneNumber) -> str:
    """A phone number's normal form: E.164, "+14155550132"."""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _luhn(digits: str) -> bool:
    """Whether a digit string passes the Luhn check of card numbers."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _iban_valid(iban: str) -> bool:
    """ISO 13616's check: the rearranged IBAN, letters as 10-35, is 1 modulo 97."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


class _Spans:
    """The non-overlapping spans of one text found so far, each with its replacement.

    Kept sorted by start; since they do not overlap, their ends are sorted too, so a new
    span overlaps one iff it overlaps its neighbour on either side (found by bisection: a
    text with thousands of matches stays linear-logarithmic).
    """

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.tokens: list[str] = []

    def free(self, start: int, end: int) -> bool:
        """Whether [start, end) overlaps no span taken."""
        index = bisect.bisect_right(self.starts, start)
        if index and self.ends[index - 1] > start:
            return False
        return index == len(self.starts) or self.starts[index] >= end

    def add(self, start: int, end: int, token: str) -> None:
        """Take [start, end) for the token unless part of it is taken."""
        if start < end and self.free(start, end):
            index = bisect.bisect_right(self.starts, start)
            self.starts.insert(index, start)
            self.ends.insert(index, end)
            self.tokens.insert(index, token)

    def apply(self, text: str) -> str:
        """The text with every span replaced."""
        if not self.starts:
            return text
        parts: list[str] = []
        position = 0
        for start, end, token in zip(self.starts, self.ends, self.tokens, strict=True):
            parts.append(text[position:start])
            parts.append(token)
            position = end
        parts.append(text[position:])
        return "".join(parts)


class Anonymizer:
    """Replaces personal data in the texts, metadata and ids of one export.

    ``secret`` keys the tokens (a random one when None: tokens are then consistent within
    this instance only). ``names`` are known person names, as :meth:`learn_names`.
    ``regions`` are the ISO 3166 codes whose national phone formats are recognized, in
    order of preference when a number is valid in several.
    """

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        names: Iterable[str] = (),
        regions: Sequence[str] = ("US", "GB", "FR"),
    ) -> None:
        key = secrets.token_bytes(32) if secret is None else secret
        self._hmac = hmac.new(key, digestmod=hashlib.sha256)
        self._regions = tuple(regions)
        self._first, self._last = _name_lists()
        self._learned: set[str] = set()
        self._known: frozenset[str] = self._first
        self._phone_cache: dict[str, list[tuple[int, int, str]]] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self.learn_names(names)

    def learn_names(self, names: Iterable[str]) -> None:
        """Treat every word of these names (user names, profile names) as a name in text.

        A learned word is replaced wherever it is capitalized ("Jane", "JANE"), even if it is
        also a common word.
        """
        for name in names:
            for word in re.findall(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*", name):
                if len(word) > 1 and word.casefold() not in _STOP:
                    self._learned.add(word.casefold())
        self._known = self._first | self._learned

    def token(self, kind: str, normalized: str) -> str:
        """The token of a normalized value of a kind (EMAIL, PHONE, NAME, ADDRESS...)."""
        token = self._tokens.get((kind, normalized))
        if token is None:
            if len(self._tokens) >= _MEMO_SIZE:
                self._tokens.clear()
            token = f"<{kind}_{self._digest(kind, normalized, _TEXT_HEX)}>"
            self._tokens[kind, normalized] = token
        return token

    def identifier(self, value: str, kind: str = "user") -> str:
        """A stable, unique pseudonym of an id: ``<kind>_<16 hex digits>``.

        The digits key the exact id alone, so one id has the same digits under any kind.
        """
        return f"{kind}_{self._digest('ID', value, _ID_HEX)}"

    def text(self, value: str) -> str:
        """The text with every personal datum detected replaced by its token."""
        spans = _Spans()
        if "@" in value:
            self._find_userinfo(value, spans)
            self._find_emails(value, spans)
        if _DIGIT.search(value):
            self._find_numbers(value, spans)
            for pattern in _ADDRESSES:
                for match in pattern.finditer(value):
                    spans.add(match.start(), match.end(), self.token("ADDRESS", _fold(match[0])))
            self._find_phones(value, spans)
        self._find_names(value, spans)
        return spans.apply(value)

    def name(self, value: str) -> str:
        """A person's name (a user's display name), replaced whole, word by word."""
        return self._whole_name(value)

    def json(self, value: JsonValue) -> JsonValue:
        """A JSON value with every string in it anonymized; keys are kept.

        The string of a key that names a person ("name", "first_name", "displayName"...) is
        replaced whole, word by word, by name tokens; one of an address or phone key whole
        by one address or phone token.
        """
        return self._json(value, None)

    # --- Internals --------------------------------------------------------------------------

    def _digest(self, kind: str, value: str, length: int) -> str:
        digest = self._hmac.copy()
        digest.update(kind.encode() + b"\0" + value.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()[:length]

    def _json(self, value: JsonValue, key: str | None) -> JsonValue:
        if isinstance(value, str):
            special = _KEYED.get(re.sub(r"[^a-z]", "", key.lower())) if key else None
            return special(self, value) if special and value.strip() else self.text(value)
        if isinstance(value, list):
            return [self._json(item, key) for item in value]
        if isinstance(value, dict):
            return {name: self._json(item, name) for name, item in value.items()}
        return value

    def _whole_name(self, value: str) -> str:
        return re.sub(r"\S+", lambda match: self.token("NAME", match[0].casefold()), value)

    def _whole_address(self, value: str) -> str:
        return self.token("ADDRESS", _fold(value))

    def _whole_phone(self, value: str) -> str:
        return self.token("PHONE", self._phone_normal(value))

    def _phone_normal(self, raw: str) -> str:
        """E.164 when a region makes the number valid, else its digits (and leading +)."""
        for region in self._regions:
            if self._valid_in(raw, region):
                return _e164(phonenumbers.parse(raw, region))
        return ("+" if raw.lstrip().startswith("+") else "") + re.sub(r"\D", "", raw)

    @staticmethod
    def _valid_in(raw: str, region: str) -> bool:
        """Whether the string as a whole is a valid number read in the region."""
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(raw, region))
        except phonenumbers.NumberParseException:
            return False

    def _find_userinfo(self, text: str, spans: _Spans) -> None:
        for match in _USERINFO.finditer(text):
            spans.add(match.start(1), match.end(1), self.token("CREDENTIALS", match[1]))

    def _find_emails(self, text: str, spans: _Spans) -> None:
        for match in _EMAIL.finditer(text):
            start, end = match.span()
            # 'bob@example.com': the quote is one around the address, not part of it.
            if text[start] == "'" and text[end : end + 1] == "'" and text[start + 1] != "@":
                start += 1
            spans.add(start, end, self.token("EMAIL", text[start:end].lower()))

    def _find_numbers(self, text: str, spans: _Spans) -> None:
        for match in _IBAN.finditer(text):
            iban = match[0].replace(" ", "")
            if _iban_valid(iban):
                spans.add(match.start(), match.end(), self.token("IBAN", iban))
        for match in _CARD.finditer(text):
            digits = re.sub(r"\D", "", match[0])
            if _CARD_PREFIX.match(digits) and _luhn(digits):
                spans.add(match.start(), match.end(), self.token("CARD", digits))
        for match in _SSN.finditer(text):
            spans.add(match.start(), match.end(), self.token("SSN", match[0]))
        for match in _IPV4.finditer(text):
            if not _VERSION_BEFORE.search(text, max(0, match.start() - 12), match.start()):
                self._add_ip(match, ipaddress.IPv4Address, spans)
        if ":" in text:
            for match in _IPV6.finditer(text):
                self._add_ip(match, ipaddress.IPv6Address, spans)

    def _add_ip(
        self,
        match: re.Match[str],
        parse: Callable[[str], ipaddress.IPv4Address | ipaddress.IPv6Address],
        spans: _Spans,
    ) -> None:
        """An IP address unless invalid, or one that names no host (127.0.0.1, ::, ::1)."""
        try:
            address = parse(match[0])
        except ValueError:
            return
        if not (address.is_loopback or address.is_unspecified):
            spans.add(match.start(), match.end(), self.token("IP", str(address)))

    def _find_phones(self, text: str, spans: _Spans) -> None:
        for run in _PHONE_RUN.finditer(text):
            candidate = run[0]
            if sum(char.isdigit() for char in candidate) < 7 or _DATE.fullmatch(candidate):
                continue
            if _ID_BEFORE.search(text, max(0, run.start() - 30), run.start()):
                continue
            for start, end, normal in self._phones_in(candidate):
                spans.add(run.start() + start, run.start() + end, self.token("PHONE", normal))
        for match in _PHONE_CUE.finditer(text):
            raw = match[1].rstrip(" \t.-(")
            start, end = match.start(1), match.start(1) + len(raw)
            if sum(char.isdigit() for char in raw) >= 7 and spans.free(start, end):
                spans.add(start, end, self.token("PHONE", self._phone_normal(raw)))

    def _phones_in(self, candidate: str) -> list[tuple[int, int, str]]:
        """The valid numbers of a run, as spans in it and E.164, memoized by the run.

        libphonenumber's matcher (about 0.3 ms a region) decides, with its checks that
        the digits are grouped as the region groups them. Most runs that hold a number are
        that number: a parse a region (about 0.1 ms) picks the one region to match in. Only
        a run that is a number in no region, and has separators, is matched in every region.
        """
        found = self._phone_cache.get(candidate)
        if found is None:
            if len(self._phone_cache) >= _MEMO_SIZE:
                self._phone_cache.clear()
            whole = next((r for r in self._regions if self._valid_in(candidate, r)), None)
            found = []
            for region in (whole,) if whole else () if candidate.isdigit() else self._regions:
                matcher = phonenumbers.PhoneNumberMatcher(
                    candidate, region, leniency=phonenumbers.Leniency.STRICT_GROUPING
                )
                found = [(match.start, match.end, _e164(match.number)) for match in matcher]
                if found:
                    break
            self._phone_cache[candidate] = found
        return found

    def _find_names(self, text: str, spans: _Spans) -> None:
        for match in _NAME_CUE.finditer(text):
            after_im = match[1] is not None or match[2] is not None
            position = match.start(3)
            for word in match[3].split():
                folded = word.casefold()
                if folded in _STOP or (after_im and folded in _NOT_AFTER_IM):
                    break
                start = text.index(word, position)
                position = start + len(word)
                self._add_name(text, start, position, spans)
        words = [
            (match.start(), match.end(), match[0].casefold()) for match in _WORD.finditer(text)
        ]
        for index, (start, end, folded) in enumerate(words):
            if folded not in self._known:
                continue
            if folded in self._learned or folded not in _AMBIGUOUS:
                self._add_name(text, start, end, spans)
                if folded in self._learned:
                    continue
                follower = self._follower(text, words, index)
                if follower is not None and follower[2] not in _STOP:
                    self._add_name(text, follower[0], follower[1], spans)
            else:
                follower = self._follower(text, words, index)
                if follower is not None and follower[2] in self._last:
                    self._add_name(text, start, end, spans)
                    self._add_name(text, follower[0], follower[1], spans)

    @staticmethod
    def _follower(
        text: str, words: list[tuple[int, int, str]], index: int
    ) -> tuple[int, int, str] | None:
        """The next capitalized word when only spaces separate it from this one."""
        if index + 1 < len(words):
            following = words[index + 1]
            gap = text[words[index][1] : following[0]]
            if gap and gap.isspace() and "\n" not in gap:
                return following
        return None

    def _add_name(self, text: str, start: int, end: int, spans: _Spans) -> None:
        spans.add(start, end, self.token("NAME", text[start:end].casefold()))


_KEYED: Mapping[str, Callable[[Anonymizer, str], str]] = {
    **dict.fromkeys(
        _word_set(
            "name firstname lastname fullname displayname nickname givenname familyname "
            "surname middlename preferredname username"
        ),
        Anonymizer._whole_name,
    ),
    **dict.fromkeys(
        _word_set("address homeaddress streetaddress street addressline postaladdress"),
        Anonymizer._whole_address,
    ),
    **dict.fromkeys(
        _word_set("phone phonenumber mobile cell telephone tel fax"), Anonymizer._whole_phone
    ),
}
