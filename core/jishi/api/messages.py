"""marshmallow's and webargs' own validation messages in the reader's
language: the API's 422 answers ("Missing data for required field.", "Not
a valid integer.", "Must be greater than or equal to 1.") are English text
made by the libraries; :func:`translate` finds the message among them and
answers it from the kernel's catalog, the values it names kept.
"""

from __future__ import annotations

import re

from jishi.i18n import N_
from jishi.i18n import gettext as _

#: Messages the libraries send as they are.
EXACT = frozenset(
    {
        N_("Missing data for required field."),
        N_("Field may not be null."),
        N_("Invalid value."),
        N_("Invalid input."),
        N_("Invalid type."),
        N_("Invalid input type."),
        N_("Unknown field."),
        N_("Not a valid boolean."),
        N_("Not a valid integer."),
        N_("Not a valid number."),
        N_("Number too large."),
        N_("Not a valid string."),
        N_("Not a valid utf-8 string."),
        N_("Not a valid list."),
        N_("Not a valid tuple."),
        N_("Not a valid mapping type."),
        N_("Not a valid date."),
        N_("Not a valid datetime."),
        N_("Not a valid time."),
        N_("Not a valid naive datetime."),
        N_("Not a valid aware datetime."),
        N_("Not a valid period of time."),
        N_("Not a valid email address."),
        N_("Not a valid URL."),
        N_("Not a valid UUID."),
        N_("Special numeric values (nan or infinity) are not permitted."),
        N_("String does not match expected pattern."),
        N_("Invalid JSON body."),
        N_("Not a date and time between the years 1000 and 9998."),
    }
)

#: Messages with values in them: (what the library sends, its msgid).
PATTERNS = [
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (
            r"Must be greater than or equal to (?P<min>.+) and less than or equal to (?P<max>.+)\.",
            N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
        ),
        (
            r"Must be greater than (?P<min>.+) and less than or equal to (?P<max>.+)\.",
            N_("Must be greater than %(min)s and less than or equal to %(max)s."),
        ),
        (
            r"Must be greater than or equal to (?P<min>.+) and less than (?P<max>.+)\.",
            N_("Must be greater than or equal to %(min)s and less than %(max)s."),
        ),
        (
            r"Must be greater than (?P<min>.+) and less than (?P<max>.+)\.",
            N_("Must be greater than %(min)s and less than %(max)s."),
        ),
        (r"Must be greater than or equal to (?P<min>.+)\.", N_("Must be greater than or equal to %(min)s.")),
        (r"Must be greater than (?P<min>.+)\.", N_("Must be greater than %(min)s.")),
        (r"Must be less than or equal to (?P<max>.+)\.", N_("Must be less than or equal to %(max)s.")),
        (r"Must be less than (?P<max>.+)\.", N_("Must be less than %(max)s.")),
        (r"Shorter than minimum length (?P<min>.+)\.", N_("Shorter than minimum length %(min)s.")),
        (r"Longer than maximum length (?P<max>.+)\.", N_("Longer than maximum length %(max)s.")),
        (r"Length must be between (?P<min>.+) and (?P<max>.+)\.", N_("Length must be between %(min)s and %(max)s.")),
        (r"Length must be (?P<equal>.+)\.", N_("Length must be %(equal)s.")),
        (r"Must be one of: (?P<choices>.+)\.", N_("Must be one of: %(choices)s.")),
        (r"Must be equal to (?P<other>.+)\.", N_("Must be equal to %(other)s.")),
        (
            r'"(?P<input>.*)" cannot be formatted as a (?:datetime|date|time)\.',
            N_('"%(input)s" is not a date or time.'),
        ),
    )
]


def translate(message: str) -> str:
    """``message`` in the request's language when it is one of the
    libraries' own; any other text (already translated) as it is."""
    if message in EXACT:
        return _(message)
    for pattern, msgid in PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return _(msgid, **found.groupdict())
    return message
