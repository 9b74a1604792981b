"""Test and benchmark helpers of the express plugin (as
``jishi_multistore.testing`` is multistore's): the platform's default
template every test, benchmark and example checkout starts from, written
once here."""

from __future__ import annotations

#: A template charging by the piece: 10.00 for the first, 5.00 for each more
#: (fen).
PIECE = {
    "name": "按件",
    "charge_by": "piece",
    "first_units": 1,
    "first_fee": 1000,
    "additional_units": 1,
    "additional_fee": 500,
}


def piece_template(**kw):
    """Save a piece-charged express template (the platform's when no
    ``merchant_id`` is given), :data:`PIECE` updated by ``kw``."""
    from jishi_delivery_express import service

    return service.save_template({**PIECE, **kw})
