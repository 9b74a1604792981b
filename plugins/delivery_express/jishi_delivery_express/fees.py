"""The express fee of one order (one seller's group), as a pure function.

No database, no Flask: :func:`compute_fee` takes the templates and the
lines and answers the fee in fen. The rules (SPEC DE, as Youzan/有赞 does
for a parcel holding products under several templates):

1. Lines are grouped by their template; each template's lines are combined:
   pieces are summed (by piece) or ``weight_grams * quantity`` is summed
   (by weight).
2. Each template's rate comes from the buyer's region: a region rule for the
   (province, city) wins over one for the whole province, which wins over
   the template's base rate. A rule marked "not served" makes the whole
   parcel undeliverable, naming the region.
3. A template whose free-shipping condition is met (goods amount of ITS
   lines >= ``free_over_amount`` and, when set, pieces >= ``free_over_pieces``)
   charges nothing: its lines are left out of the rest.
4. Among the charging templates, the one with the highest first-unit fee
   (ties: the lowest template id) charges its first unit plus its
   additional units; every other template charges ALL its units at its own
   additional-unit rate. Additional units are rounded up to whole steps
   (1 001 g over a 1 000 g first unit with 500 g steps is one step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

BY_PIECE = "piece"
BY_WEIGHT = "weight"
CHARGE_BY = (BY_PIECE, BY_WEIGHT)

_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "地区", "省", "市", "盟")


def norm_region(name: str | None) -> str:
    """``"新疆维吾尔自治区"`` -> ``"新疆"``, ``"浙江省"`` -> ``"浙江"``,
    ``"杭州市"`` -> ``"杭州"``: rules and addresses match with or without
    the administrative suffix."""
    name = (name or "").strip()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class Rate:
    """First ``first_units`` (pieces or grams) for ``first_fee`` fen, then
    ``additional_fee`` fen for each started ``additional_units``."""

    first_units: int
    first_fee: int
    additional_units: int
    additional_fee: int

    def __post_init__(self):
        if self.first_units < 0 or self.first_fee < 0 or self.additional_units < 1 or self.additional_fee < 0:
            raise ValueError(f"bad rate {self}")

    def steps(self, units: int) -> int:
        """Whole additional steps for ``units`` (rounded up)."""
        return -(-max(units, 0) // self.additional_units)

    def leading(self, units: int) -> int:
        """The fee when this template charges the first unit."""
        return self.first_fee + self.steps(units - self.first_units) * self.additional_fee

    def following(self, units: int) -> int:
        """The fee when another template charged the first unit."""
        return self.steps(units) * self.additional_fee


@dataclass(frozen=True)
class RegionRule:
    """A province (and optionally a city) with its own rate, or not served."""

    province: str
    city: str = ""
    served: bool = True
    rate: Rate | None = None

    def matches(self, province: str, city: str) -> bool:
        if norm_region(self.province) != norm_region(province):
            return False
        return not self.city or norm_region(self.city) == norm_region(city)

    @property
    def label(self) -> str:
        return f"{self.province}{self.city}"


@dataclass(frozen=True)
class Template:
    id: int
    name: str
    charge_by: str
    rate: Rate
    regions: tuple[RegionRule, ...] = ()
    free_over_amount: int = 0  # fen; 0: no amount threshold
    free_over_pieces: int = 0  # 0: no piece threshold

    def __post_init__(self):
        if self.charge_by not in CHARGE_BY:
            raise ValueError(f"bad charge_by {self.charge_by!r}")
        if self.free_over_amount < 0 or self.free_over_pieces < 0:
            raise ValueError("negative threshold")

    def region_rule(self, province: str | None, city: str | None) -> RegionRule | None:
        """The city's rule, else the province's, else None."""
        if not province:
            return None
        city_rules = [r for r in self.regions if r.city and r.matches(province, city or "")]
        if city_rules:
            return city_rules[0]
        return next((r for r in self.regions if not r.city and r.matches(province, "")), None)

    def is_free(self, amount: int, pieces: int) -> bool:
        if not self.free_over_amount and not self.free_over_pieces:
            return False
        if self.free_over_amount and amount < self.free_over_amount:
            return False
        return not (self.free_over_pieces and pieces < self.free_over_pieces)


@dataclass(frozen=True)
class Item:
    """One line: its template, quantity, unit weight and goods amount (fen)."""

    template: Template
    quantity: int
    weight_grams: int = 0
    amount: int = 0


@dataclass(frozen=True)
class Part:
    """What one template charged."""

    template_id: int
    units: int
    fee: int
    free: bool = False
    leading: bool = False


@dataclass(frozen=True)
class FeeResult:
    fee: int
    available: bool = True
    unserved_region: str = ""
    parts: tuple[Part, ...] = field(default_factory=tuple)


def compute_fee(items: Sequence[Item], province: str | None = None, city: str | None = None) -> FeeResult:
    """The express fee for ``items`` shipped to (``province``, ``city``).

    Without a province the templates' base rates apply (an estimate before
    the buyer picks an address). See the module docstring for the rules.
    """
    by_template: dict[int, list[Item]] = {}
    templates: dict[int, Template] = {}
    for item in items:
        if item.quantity <= 0:
            continue
        by_template.setdefault(item.template.id, []).append(item)
        templates[item.template.id] = item.template
    if not by_template:
        return FeeResult(0)

    charging: list[tuple[Template, Rate, int]] = []
    parts: list[Part] = []
    for tid in sorted(by_template):
        template = templates[tid]
        lines = by_template[tid]
        rule = template.region_rule(province, city)
        if rule is not None and not rule.served:
            return FeeResult(0, available=False, unserved_region=rule.label)
        pieces = sum(i.quantity for i in lines)
        amount = sum(i.amount for i in lines)
        units = pieces if template.charge_by == BY_PIECE else sum(max(i.weight_grams, 0) * i.quantity for i in lines)
        if template.is_free(amount, pieces):
            parts.append(Part(tid, units, 0, free=True))
            continue
        rate = rule.rate if (rule is not None and rule.rate is not None) else template.rate
        charging.append((template, rate, units))

    if charging:
        lead = max(charging, key=lambda c: (c[1].first_fee, -c[0].id))
        for template, rate, units in charging:
            if template.id == lead[0].id:
                parts.append(Part(template.id, units, rate.leading(units), leading=True))
            else:
                parts.append(Part(template.id, units, rate.following(units)))
    parts.sort(key=lambda p: p.template_id)
    return FeeResult(sum(p.fee for p in parts), parts=tuple(parts))
