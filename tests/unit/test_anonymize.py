"""The anonymizer of exports (bruno_memory.transfer.anonymize) on realistic conversations."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bruno_memory.transfer.anonymize import Anonymizer

SECRET = b"export-secret"
TOKEN = re.compile(r"<([A-Z]+)_[0-9a-f]{12}>")

CONVERSATION = """\
Hi Bruno! My name is Eleanor Whitfield, but everyone calls me Nell. I moved last month, so
please update my details. My email is Eleanor.Whitfield@Example.co.uk and my work address
is e.whitfield@acme-corp.com.

You can call me at (415) 555-0132 or text +1 415-555-0198. When I'm in London I use
020 7946 0958, and my French mobile is 06 12 34 56 78.

I now live at 742 Evergreen Terrace, Apt 3B, Springfield, IL 62704. My office is at
221B Baker Street, London NW1 6XE, and my mother lives at 12 rue de la Paix, 75002 Paris.

For the hotel, charge my card 4111 1111 1111 1111 (exp 09/27). Refunds go to
GB82 WEST 1234 5698 7654 32. My SSN is 123-45-6789, and my home server is 192.168.1.10
(or 2001:db8::8a2e:370:7334). Clone https://nell:hunter2@git.example.com/notes.git too.

Also, my colleague Marcus Oyelaran and Dr. Quigley will join. Tell Sophie that Emma's
birthday is next week.
"""

PII = [
    "Eleanor",
    "Whitfield",
    "Nell",
    "Eleanor.Whitfield@Example.co.uk",
    "e.whitfield@acme-corp.com",
    "(415) 555-0132",
    "415-555-0198",
    "020 7946 0958",
    "06 12 34 56 78",
    "742 Evergreen Terrace",
    "62704",
    "221B Baker Street",
    "NW1 6XE",
    "12 rue de la Paix",
    "75002",
    "4111 1111 1111 1111",
    "GB82 WEST",
    "123-45-6789",
    "192.168.1.10",
    "2001:db8::8a2e:370:7334",
    "hunter2",
    "Marcus",
    "Oyelaran",
    "Quigley",
    "Sophie",
    "Emma",
]

# Text with numbers, capitalized words and punctuation, but no personal data.
BENIGN = [
    "I'll call you on Monday at 5 pm.",
    "The meeting moved to 2024-03-15 at 10:30, or 15/03/2024 at 14:45:30.",
    "Upgrade to Python 3.11.7 and numpy 1.26.4; build 10.0.19041.1 is fine.",
    "The lamp costs $1,299.99 (was €1.499,00), shipping 12.50 USD.",
    "Your order #4417-2291-88 shipped; tracking 1Z999AA10123456784, ticket ORD-20240315-7781.",
    "May I ask whether Will Power is a band? Bill me later, and Grace under pressure.",
    "In April we visit Paris, Jordan and Victoria, then see the Mark 2 prototype.",
    "Chapter 12 covers 3 key ideas: 250 ms latency, 99.9% uptime and 1,000,000 users.",
    "The function returned 404 after 3 retries; see RFC 7231 section 6.5.4.",
    "Take 2 tablets every 8 hours for 5 days, about 20 mg/kg.",
    "Serve it on 127.0.0.1:8000 or [::1]:8000, not 0.0.0.0.",
]


@pytest.fixture
def anonymizer() -> Anonymizer:
    return Anonymizer(SECRET)


def tokens(text: str, kind: str) -> list[str]:
    return [match[0] for match in TOKEN.finditer(text) if match[1] == kind]


def test_no_personal_data_survives(anonymizer: Anonymizer) -> None:
    """Every name, email, phone, address, card, IBAN, SSN, IP and password is replaced."""
    result = anonymizer.text(CONVERSATION)
    for value in PII:
        assert value not in result, value
    for kind in ("NAME", "EMAIL", "PHONE", "ADDRESS", "CARD", "IBAN", "SSN", "IP", "CREDENTIALS"):
        assert tokens(result, kind), kind


def test_the_rest_of_the_text_is_kept(anonymizer: Anonymizer) -> None:
    """Around the tokens, the text is unchanged: words, punctuation, dates, the host."""
    result = anonymizer.text(CONVERSATION)
    for kept in (
        "Hi Bruno! My name is",
        "please update my details.",
        "(exp 09/27)",
        "@git.example.com/notes.git",
        "birthday is next week.",
    ):
        assert kept in result
    assert "Dr. <NAME_" in result
    assert "'s\nbirthday" in result  # a possessive keeps its 's


@pytest.mark.parametrize("text", BENIGN)
def test_no_false_positives(anonymizer: Anonymizer, text: str) -> None:
    """Times, dates, versions, prices, order numbers and common words are not personal data."""
    assert anonymizer.text(text) == text


@pytest.mark.parametrize(
    ("formats", "kind"),
    [
        (["(415) 555-0132", "+1 415 555 0132", "415.555.0132", "+14155550132"], "PHONE"),
        (["020 7946 0958", "+44 20 7946 0958", "+44 (0)20 7946 0958"], "PHONE"),
        (["06 12 34 56 78", "+33 6 12 34 56 78", "06.12.34.56.78"], "PHONE"),
        (["Jane.Doe@Example.com", "jane.doe@example.com", "JANE.DOE@EXAMPLE.COM"], "EMAIL"),
        (["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"], "CARD"),
        (["GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"], "IBAN"),
    ],
)
def test_one_value_in_any_format_is_one_token(
    anonymizer: Anonymizer, formats: list[str], kind: str
) -> None:
    """Values are normalized (E.164, lower case, digits) before they are keyed."""
    found = {anonymizer.text(f"Reach me: {value}.") for value in formats}
    assert len(found) == 1
    assert tokens(found.pop(), kind)


def test_same_value_same_token_and_different_values_different_tokens(
    anonymizer: Anonymizer,
) -> None:
    """Consistency across a file: the same person is the same token in every message."""
    first = anonymizer.text("Email alice@example.com or bob@example.com, says Alice.")
    second = anonymizer.text("Alice wrote from alice@example.com again.")
    alice_email, bob_email = tokens(first, "EMAIL")
    assert alice_email != bob_email
    assert tokens(second, "EMAIL") == [alice_email]
    assert tokens(first, "NAME") == tokens(second, "NAME")


def test_the_secret_keys_the_tokens() -> None:
    """One secret gives the same tokens in two instances; another secret, other tokens."""
    text = "I'm Eleanor Whitfield, eleanor@example.com, (415) 555-0132."
    assert Anonymizer(SECRET).text(text) == Anonymizer(SECRET).text(text)
    assert Anonymizer(b"other").text(text) != Anonymizer(SECRET).text(text)
    assert Anonymizer().text(text) != Anonymizer().text(text)  # a random secret each


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("My name is Zorblax Quux.", ["Zorblax", "Quux"]),
        ("Hello, I'm Anika Szabo-Ruiz from Lyon.", ["Anika", "Szabo-Ruiz"]),
        ("Please call me Thandiwe; friends go by Tandi.", ["Thandiwe", "Tandi"]),
        ("Mrs. Okonkwo and Mr Van Dijk agreed.", ["Okonkwo", "Van", "Dijk"]),
        ("Grace Walker wrote it; Jordan Smith read it.", ["Grace", "Walker", "Jordan", "Smith"]),
        ("Thanks, Kevin! Olivia says hi to Zoé.", ["Kevin", "Olivia", "Zoé"]),
        ("And this is my husband, Tomasz.", ["Tomasz"]),
        ("My best friend's name is Oluwaseun.", ["Oluwaseun"]),
        ("See you soon.\n\nKind regards,\nIngrid Johansson", ["Ingrid", "Johansson"]),
    ],
)
def test_names_by_cue_and_by_list(anonymizer: Anonymizer, text: str, names: list[str]) -> None:
    """Names after a cue, first names of the lists and the surname that follows one."""
    result = anonymizer.text(text)
    for name in names:
        assert name not in result, name
    assert len(tokens(result, "NAME")) == len(names)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Our office: 1600 Amphitheatre Parkway, Mountain View, CA 94043.", "Our office: @."),
        ("Send it to 350 Fifth Avenue, Suite 3300, New York, NY 10118-3300.", "Send it to @."),
        ("Flat 4, 22 Acacia Avenue, Bristol BS1 4DJ.", "@."),
        ("Mail PO Box 1234, Austin, TX 78701.", "Mail @, @."),
        ("Address: 1234 W 5th St, Los Angeles, CA 90017", "Address: @"),
        ("Je suis au 5 avenue Anatole France, 75007 Paris.", "Je suis au @."),
        ("He lives at 10 Downing Street, London SW1A 2AA.", "He lives at @."),
    ],
)
def test_addresses(anonymizer: Anonymizer, text: str, expected: str) -> None:
    """US, UK and French street addresses with their unit, city, state and postcode."""
    assert re.sub(r"<ADDRESS_[0-9a-f]{12}>", "@", anonymizer.text(text)) == expected


def test_im_before_a_nationality_or_state_is_no_name(anonymizer: Anonymizer) -> None:
    text = "I'm French, I'm Not sure and I am Canadian."
    assert anonymizer.text(text) == text


def test_learned_names(anonymizer: Anonymizer) -> None:
    """The store's own names are replaced wherever capitalized, even common words."""
    anonymizer.learn_names(["Kwame Mensah", "Rose"])
    result = anonymizer.text("Kwame said MENSAH and Rose agreed; a rose is a rose.")
    assert result.count("<NAME_") == 3
    assert "a rose is a rose." in result


def test_phone_after_a_cue_even_if_not_valid(anonymizer: Anonymizer) -> None:
    """A fictional UK number (Ofcom's drama range) after "mobile" is still replaced."""
    result = anonymizer.text("My mobile is 07700 900123, thanks.")
    assert "07700" not in result
    assert tokens(result, "PHONE")


def test_json_keeps_keys_and_anonymizes_nested_strings(anonymizer: Anonymizer) -> None:
    profile = {
        "name": "Zorblax Quux",
        "preferences": {"language": "en", "emails": ["z.quux@example.org"], "volume": 7},
        "contacts": [{"displayName": "Nana", "phone": "555-0100"}, {"note": "call 415-555-0132"}],
        "home_address": "Flat 2, Rosebank",
        "active": True,
        "score": 0.5,
        "extra": None,
    }
    result = anonymizer.json(profile)
    assert isinstance(result, dict)
    assert result.keys() == profile.keys()
    dumped = repr(result)
    for value in ("Zorblax", "Quux", "z.quux", "Nana", "555-0100", "415-555-0132", "Rosebank"):
        assert value not in dumped, value
    assert result["preferences"] == {
        "language": "en",
        "emails": [tokens(dumped, "EMAIL")[0]],
        "volume": 7,
    }
    assert (result["active"], result["score"], result["extra"]) == (True, 0.5, None)
    # The name under "name" is the same token as the name in free text.
    assert anonymizer.text("My name is Zorblax Quux.") == f"My name is {result['name']}."


def test_identifiers_are_stable_unique_and_unreadable(anonymizer: Anonymizer) -> None:
    ids = ["jane@example.com", "Jane@example.com", "user-42", "user-43"]
    pseudonyms = [anonymizer.identifier(value) for value in ids]
    assert len(set(pseudonyms)) == len(ids)  # not normalized: distinct ids stay distinct
    assert all(re.fullmatch(r"user_[0-9a-f]{16}", pseudonym) for pseudonym in pseudonyms)
    assert Anonymizer(SECRET).identifier("user-42") == pseudonyms[2]
    assert anonymizer.identifier("user-42", "conversation").startswith("conversation_")


@settings(max_examples=200, deadline=None)
@given(email=st.emails(), before=st.sampled_from(["", "Mail ", "(", "to: "]))
def test_every_email_is_replaced(email: str, before: str) -> None:
    """Property: hypothesis' RFC 5322 addresses never survive, wherever they sit."""
    result = Anonymizer(SECRET).text(f"{before}{email} thanks")
    assert email not in result
    assert tokens(result, "EMAIL")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.ascii_lowercase + " ,.;:!?'\"()-\n", max_size=200))
def test_text_without_digits_at_signs_or_capitals_is_unchanged(text: str) -> None:
    """Property: nothing without digits, @ or a capitalized word can be personal data."""
    assert Anonymizer(SECRET).text(text) == text


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"\+1 ?\(?[2-9][0-8]\d\)?[ .-]?[2-9]\d{2}[ .-]?\d{4}", fullmatch=True))
def test_valid_us_numbers_are_replaced(number: str) -> None:
    """Property: a NANP-shaped number is replaced whenever libphonenumber deems it valid."""
    import phonenumbers

    result = Anonymizer(SECRET).text(f"Call {number} today")
    if phonenumbers.is_valid_number(phonenumbers.parse(number, "US")):
        assert tokens(result, "PHONE"), number


@settings(max_examples=100, deadline=None)
@given(st.lists(st.emails(), min_size=2, max_size=5, unique_by=str.lower))
def test_emails_are_consistent_and_distinct(emails: list[str]) -> None:
    """Property: one address is one token in any case and message; two addresses, two."""
    anonymizer = Anonymizer(SECRET)
    first = [tokens(anonymizer.text(f"write to {email} now"), "EMAIL") for email in emails]
    again = [tokens(anonymizer.text(f"{email.upper()}"), "EMAIL") for email in emails]
    assert first == again
    assert len({token for found in first for token in found}) == len(emails)
