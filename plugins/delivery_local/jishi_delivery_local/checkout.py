"""Local delivery at checkout (LD): the ``local`` option per group, the
buyer's slot (``options["local_slot"][group key]``), its checks and the
atomic claim when the order is placed.

The plugin's checkout and order hooks (``delivery_options``,
``validate_checkout``, ``order_placing``, ``order_transitioned``) are the
``@hookimpl`` functions below, registered as ``delivery_local.checkout``."""

from __future__ import annotations

from jishi.checkout.errors import CheckoutError
from jishi.hookspecs import DeliveryOption, Fulfilment, Problem, hookimpl
from jishi.i18n import gettext as _
from jishi.money import format_fen

from jishi_delivery_local import rules, service

OPTION = "local_slot"
FIELD = "options.local_slot"


def _km(metres: int) -> str:
    return f"{metres / 1000:.1f} km"  # display only (not money)


def chosen_slot(checkout, group) -> object:
    """The buyer's slot for ``group`` as sent (any type; checked later)."""
    value = checkout.options.get(OPTION)
    return value.get(group.key) if isinstance(value, dict) else None


def reason(q: rules.Quote, cfg: rules.Config) -> str:
    if q.code == rules.NO_SHOP_LOCATION:
        return _("This shop has not set its location for local delivery yet.")
    if q.code == rules.NO_LOCATION:
        return _("This address has no location; pick it on the map or add its coordinates.")
    if q.code == rules.OUT_OF_RANGE:
        return _(
            "This address is %(distance)s away, outside the %(radius)s delivery radius.",
            distance=_km(q.distance_m),
            radius=_km(cfg.radius_m),
        )
    if q.code == rules.BELOW_MINIMUM:
        return _(
            "Local delivery starts at %(minimum)s of goods; add %(short)s more.",
            minimum=format_fen(cfg.min_amount),
            short=format_fen(q.short),
        )
    return ""


def option_for(group, address, checkout, cfg: rules.Config) -> DeliveryOption:
    lat = getattr(address, "lat", None) if address is not None else None
    lng = getattr(address, "lng", None) if address is not None else None
    q = rules.quote(cfg, group.goods_amount, lat, lng)
    data: dict = {"distance_m": q.distance_m}
    slot = chosen_slot(checkout, group)
    if isinstance(slot, str):
        try:
            sid = rules.parse_slot_id(slot)
        except ValueError:
            pass
        else:
            data.update(
                slot=f"{sid.day.isoformat()} {sid.window_key}",
                slot_date=sid.day.isoformat(),
                slot_window=sid.window_key,
            )
    label = _("Local delivery")
    return DeliveryOption(
        code=service.METHOD,
        label=label,
        fee=q.fee if q.available else 0,
        available=q.available,
        reason=reason(q, cfg),
        data=data,
    )


@hookimpl(trylast=True)  # after other delivery plugins: never the preselected option
def delivery_options(group, address, checkout):
    if all(line.is_virtual for line in group.lines):
        return None
    chose_other = getattr(checkout, "chose_other", None)
    if chose_other is not None and chose_other(group, service.METHOD):
        return None  # placing with another method chosen: nothing to read (issue 20)
    cfg = _configs(checkout).get(group.seller_id) or service.config_for(group.seller_id)
    if not cfg.enabled:
        return None
    return [option_for(group, address, checkout, cfg)]


@hookimpl
def checkout_loaders(lines, user, options, placing):
    """A preview's settings of its sellers, read with the checkout's other
    rows in one statement (a placement reads them only for a group that may
    take local delivery: ``_configs``)."""
    if placing or all(line.is_virtual for line in lines):
        return None
    from jishi.hookspecs import PageLoader

    keys = sorted({service.seller_key(line.seller_id) for line in lines})
    return [PageLoader(service.CHECKOUT_LOADER, service.settings_query(), {"seller_keys": keys})]


def _configs(checkout) -> dict:
    """Every group's seller config, read once per checkout (one query; none
    when ``checkout_loaders`` read them with the checkout's rows)."""
    cache = getattr(checkout, "_local_configs", None)
    if cache is None:
        sellers = {g.seller_id for g in checkout.groups}
        loaded = getattr(checkout, "loaded", None)
        if (
            loaded is not None
            and service.CHECKOUT_LOADER in loaded
            and sellers <= {line.seller_id for line in checkout.lines}
        ):
            cache = service.configs_from_rows(sellers, loaded[service.CHECKOUT_LOADER])
        else:
            cache = service.configs_for(sellers)
        try:
            checkout._local_configs = cache
        except AttributeError:  # pragma: no cover - a frozen checkout
            pass
    return cache


def slot_problem(check: rules.SlotCheck, group_key: str) -> Problem:
    messages = {
        "invalid": _("Choose a delivery time slot (YYYY-MM-DD HH:MM-HH:MM)."),
        rules.UNKNOWN: _("That delivery time slot is not offered."),
        rules.TOO_SOON: _("That delivery time slot has passed or starts too soon; choose a later one."),
        rules.TOO_FAR: _("That delivery time slot cannot be booked yet; choose an earlier day."),
        rules.FULL: _("That delivery time slot is full; choose another."),
    }
    code = "slot_full" if check.code == rules.FULL else "local_slot"
    return Problem(code, messages.get(check.code, messages["invalid"]), field=FIELD, group_key=group_key)


@hookimpl
def validate_checkout(checkout):
    problems = []
    for group in checkout.groups:
        option = group.delivery
        if option is None or option.code != service.METHOD:
            continue
        if not option.available:
            address = checkout.address
            if address is not None and (address.lat is None or address.lng is None):
                problems.append(Problem("no_location", option.reason, field="address", group_key=group.key))
            continue
        cfg = _configs(checkout).get(group.seller_id) or service.config_for(group.seller_id)
        value = chosen_slot(checkout, group)
        if value is None or value == "":
            problems.append(Problem("local_slot", _("Choose a delivery time slot."), field=FIELD, group_key=group.key))
            continue
        check = service.check_slot(group.seller_id, cfg, value)
        if not check.ok:
            problems.append(slot_problem(check, group.key))
    return problems


class SlotFull(CheckoutError):
    status = 409


@hookimpl
def order_placing(checkout, payments, orders):
    """Claim each local order's slot atomically; a full slot rolls the whole
    placement back (409 naming ``options.local_slot``)."""
    by_key = {g.key: g for g in checkout.groups}
    for order in orders:
        if order.delivery_method != service.METHOD:
            continue
        group = by_key[order.group_key]
        cfg = _configs(checkout).get(group.seller_id) or service.config_for(group.seller_id)
        check = service.check_slot(group.seller_id, cfg, chosen_slot(checkout, group))
        if check.slot is None or check.code not in (rules.OK, rules.FULL):
            raise CheckoutError([slot_problem(check, group.key)])
        distance = int((order.delivery_data or {}).get("distance_m") or 0)
        if not service.claim(order, cfg, check.slot.day, check.slot.window, distance):
            raise SlotFull([slot_problem(rules.SlotCheck(False, rules.FULL), group.key)])


@hookimpl
def order_transitioned(order, name, from_status, actor_kind):
    service.on_transition(order, name, from_status)


@hookimpl
def order_fulfilment(order):
    """A local order goes out with a rider: the seller's dispatch action
    (courier's name and phone), never a tracking number."""
    if order.delivery_method != service.METHOD:
        return None
    return Fulfilment(
        "dispatch",
        _("Local delivery"),
        action="delivery_local.dispatch",
        fields=(("courier_name", _("Courier")), ("courier_phone", _("Courier's phone"))),
    )
