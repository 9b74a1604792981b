"""Merchant management pages: the merchant console's home, shop profile and
staff; the platform's merchant and announcement pages; the buyers' merchant
list and shop page (MS4–MS6, MS13, MS15, MS17)."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from jishi.access import requires
from jishi.db import commit, rollback
from jishi.errors import DomainError
from jishi.forms import form_int, form_money, form_outcome, record_visit
from jishi.i18n import gettext as _
from jishi.money import MoneyError

from jishi_multistore import merchants as service
from jishi_multistore.blueprints import admin, shop
from jishi_multistore.blueprints import merchant as merchant_bp
from jishi_multistore.models import BUSINESS_STATES, Announcement
from jishi_multistore.principal import (
    MERCHANT_ADMIN,
    SESSION_VIEW_KEY,
    current_principal,
    merchant,
    merchant_page,
)

# --- Merchant console ---------------------------------------------------------------


@merchant_bp.get("/")
@merchant_page()
def dashboard():
    from jishi.reports import service as reports

    p = current_principal()
    start, end = reports.report_range()
    return render_template(
        "multistore/merchant/dashboard.html",
        principal=p,
        m=p.merchant,
        figures=reports.home_figures(seller_id=p.merchant.id),
        trend=reports.report_trend(start, end, p.merchant.id) if p.can("data") else None,
        status_names=service.status_names(),
        announcements=service.announcements(10),
    )


def _profile_form(m) -> dict:
    f = request.form
    data = {key: f.get(key, "") for key in service.PROFILE_TEXT}
    data["images"] = [line.strip() for line in f.get("images", "").splitlines() if line.strip()]
    try:
        data["avg_spend"] = form_money("avg_spend", source=f)
    except MoneyError as exc:
        raise service.MerchantError("avg_spend", str(exc)) from None
    data["lat"], data["lng"] = f.get("lat", "").strip() or None, f.get("lng", "").strip() or None
    data["returns_enabled"] = f.get("returns_enabled") == "1"
    from jishi_multistore import onboarding

    data["fields"] = {d.key: f.get(f"field_{d.key}", "") for d in onboarding.fields() if d.editable}
    return data


@merchant_bp.route("/profile", methods=["GET", "POST"], endpoint="profile")
@merchant_page("settings")
def profile():
    """The shop profile (MS6): the merchant admin edits everything but the
    business state and the stars."""
    from jishi_multistore import onboarding

    m = merchant()
    error, status = None, 200
    if request.method == "POST":
        try:
            service.update_profile(m, _profile_form(m))
            commit()
        except DomainError as exc:
            rollback()
            error, status = exc, 422
            m = merchant()
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("merchant.profile"))
    return render_template(
        "multistore/merchants/profile.html",
        m=m,
        error=error,
        app_fields=onboarding.fields(),
        status_names=service.status_names(),
        form=request.form if error else None,
    ), status


@merchant_bp.get("/staff", endpoint="staff")
@merchant_page(MERCHANT_ADMIN)
def staff():
    from jishi.roles import roles_of

    m = merchant()
    return render_template("multistore/merchants/staff.html", m=m, members=service.staff(m), roles=roles_of(m.id))


@merchant_bp.post("/staff", endpoint="staff_add")
@merchant_page(MERCHANT_ADMIN)
def staff_add():
    with form_outcome(_("Clerk added.")):
        service.add_clerk(merchant(), request.form.get("phone", ""))
    return redirect(url_for("merchant.staff"))


@merchant_bp.post("/staff/<int:member_id>/delete", endpoint="staff_remove")
@merchant_page(MERCHANT_ADMIN)
def staff_remove(member_id):
    try:
        service.remove_clerk(merchant(), member_id)
    except service.MerchantError as exc:
        rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        commit()
        flash(_("Clerk removed."), "success")
    return redirect(url_for("merchant.staff"))


@merchant_bp.post("/staff/<int:member_id>/role", endpoint="staff_role")
@merchant_page(MERCHANT_ADMIN)
def staff_role(member_id):
    role_id = form_int("role_id")
    try:
        service.set_member_role(merchant(), member_id, role_id)
    except service.MerchantError as exc:
        rollback()
        if exc.status == 404:
            abort(404)
        flash(exc.message, "error")
    else:
        commit()
        flash(_("Saved."), "success")
    return redirect(url_for("merchant.staff"))


# --- Merchant console: staff roles (seed 002 §4 权限管理) -----------------------------


def _shop_role(role_id: int):
    from jishi.roles import get_role

    role = get_role(role_id, merchant().id)
    if role is None:
        abort(404)
    return role


@merchant_bp.get("/roles", endpoint="roles")
@merchant_page(MERCHANT_ADMIN)
def roles():
    from jishi.roles import declared, roles_of

    m = merchant()
    rows = roles_of(m.id)
    holders = service.role_holders(m)
    return render_template(
        "multistore/merchants/roles.html", m=m, roles=rows, permissions=declared("seller"), holders=holders
    )


@merchant_bp.post("/roles", endpoint="role_create")
@merchant_page(MERCHANT_ADMIN)
def role_create():
    from jishi.roles import save_role

    with form_outcome():
        save_role(merchant().id, request.form.get("name"), request.form.getlist("permissions"))
    return redirect(url_for("merchant.roles"))


@merchant_bp.post("/roles/<int:role_id>", endpoint="role_save")
@merchant_page(MERCHANT_ADMIN)
def role_save(role_id):
    from jishi.roles import save_role

    role = _shop_role(role_id)
    with form_outcome():
        save_role(role.seller_id, request.form.get("name"), request.form.getlist("permissions"), role=role)
    return redirect(url_for("merchant.roles"))


@merchant_bp.post("/roles/<int:role_id>/delete", endpoint="role_delete")
@merchant_page(MERCHANT_ADMIN)
def role_delete(role_id):
    from jishi.roles import delete_role

    role = _shop_role(role_id)
    with form_outcome(_("Role deleted.")):
        delete_role(role, service.role_holders(merchant()).get(role.id, 0))
    return redirect(url_for("merchant.roles"))


# --- Platform: merchants --------------------------------------------------------------


def _list_args():
    status = request.args.get("status", "")
    return (request.args.get("q", "").strip()[:60], status if status in service.LIST_STATUSES else "")


@admin.get("/merchants", endpoint="merchants")
@requires("merchants")
def merchants():
    q, status = _list_args()
    items, next_id = service.list_for_platform(q, status or None, form_int("after_id", minimum=1))
    more_url = url_for("multistore_admin.merchants", q=q, status=status, after_id=next_id) if next_id else None
    return render_template(
        "multistore/merchants/list.html",
        items=items,
        q=q,
        status=status,
        more_url=more_url,
        status_names=service.status_names(),
    )


@admin.get("/merchants/export.<fmt>", endpoint="merchants_export")
@requires("merchants")
def merchants_export(fmt):
    q, status = _list_args()
    if fmt == "csv":
        return current_app.response_class(
            service.export_csv(q, status or None),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": "attachment; filename=merchants.csv"},
        )
    if fmt == "xlsx":
        return current_app.response_class(
            service.export_xlsx(q, status or None),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": "attachment; filename=merchants.xlsx"},
        )
    abort(404)


def _merchant(merchant_id: int):
    m = service.get_merchant(merchant_id)
    if m is None:
        abort(404)
    return m


@admin.get("/merchants/<int:merchant_id>", endpoint="merchant")
@requires("merchants")
def merchant_detail(merchant_id):
    from jishi_multistore import onboarding

    m = _merchant(merchant_id)
    return render_template(
        "multistore/merchants/detail.html",
        m=m,
        status_names=service.status_names(),
        states=BUSINESS_STATES,
        app_fields=onboarding.fields(),
        members=service.staff(m),
    )


@admin.post("/merchants/<int:merchant_id>/state", endpoint="merchant_state")
@requires("merchants")
def merchant_state(merchant_id):
    m = _merchant(merchant_id)
    with form_outcome():
        raw = request.form.get("stars") or ""
        stars = None if raw == "auto" else form_int("stars")
        if raw and raw != "auto" and stars is None:
            raise service.MerchantError("stars", _("Stars are a whole number from 1 to 5."))
        service.set_state(m, status=request.form.get("status") or None, stars=stars, clear_stars=raw == "auto")
    return redirect(url_for("multistore_admin.merchant", merchant_id=merchant_id))


@admin.post("/merchants/<int:merchant_id>/delete", endpoint="merchant_delete")
@requires("merchants")
def merchant_delete(merchant_id):
    m = _merchant(merchant_id)
    try:
        result = service.delete_merchant(m, current_user)
    except DomainError as exc:
        rollback()
        flash(exc.message, "error")
    else:
        flash(
            _(
                "Merchant deleted: %(p)d products taken off shelf, %(o)d unpaid orders closed.",
                p=result["products"],
                o=result["orders_closed"],
            ),
            "success",
        )
    return redirect(url_for("multistore_admin.merchants"))


@admin.post("/merchants/<int:merchant_id>/view", endpoint="merchant_view")
@requires("merchants")
def merchant_view(merchant_id):
    """Open the merchant's console read-only (前往子商户管理后台, MS4)."""
    m = _merchant(merchant_id)
    if m.deleted_at is not None:
        abort(404)
    session[SESSION_VIEW_KEY] = m.id
    return redirect(url_for("merchant.dashboard"))


@admin.post("/view/leave", endpoint="leave_view")
@requires("merchants")
def leave_view():
    """Leave a merchant console opened read-only; back to that merchant's page."""
    viewing = session.pop(SESSION_VIEW_KEY, None)
    if isinstance(viewing, int):
        return redirect(url_for("multistore_admin.merchant", merchant_id=viewing))
    return redirect(url_for("multistore_admin.merchants"))


# --- Platform: announcements ------------------------------------------------------------


@admin.route("/announcements", methods=["GET", "POST"], endpoint="announcements")
@requires("merchants")
def announcements():
    if request.method == "POST":
        with form_outcome(_("Announcement published.")):
            service.save_announcement({"title": request.form.get("title", ""), "body": request.form.get("body", "")})
        return redirect(url_for("multistore_admin.announcements"))
    return render_template("multistore/merchants/announcements.html", items=service.announcements(200))


def _announcement(announcement_id: int) -> Announcement:
    from jishi.db import db

    a = db.session.get(Announcement, announcement_id) if announcement_id <= service.MAX_ID else None
    if a is None:
        abort(404)
    return a


@admin.post("/announcements/<int:announcement_id>", endpoint="announcement_update")
@requires("merchants")
def announcement_update(announcement_id):
    a = _announcement(announcement_id)
    with form_outcome():
        service.save_announcement({"title": request.form.get("title", ""), "body": request.form.get("body", "")}, a)
    return redirect(url_for("multistore_admin.announcements"))


@admin.post("/announcements/<int:announcement_id>/delete", endpoint="announcement_delete")
@requires("merchants")
def announcement_delete(announcement_id):
    from jishi.db import db

    a = _announcement(announcement_id)
    with form_outcome(_("Deleted.")):
        db.session.delete(a)
    return redirect(url_for("multistore_admin.announcements"))


# --- Storefront: merchant list and shop page -----------------------------------------------


def _coord(name: str, lo: float, hi: float) -> float | None:
    raw = request.args.get(name, "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if lo <= value <= hi else None


@shop.get("/shops", endpoint="shops")
def shops():
    """The buyers' merchant list (MS13): by join time, name or distance."""
    lat, lng = _coord("lat", -90, 90), _coord("lng", -180, 180)
    if lat is None or lng is None:
        lat = lng = None
    sort = request.args.get("sort", "distance" if lat is not None else "newest")
    if sort not in service.SHOP_SORTS or (sort == "distance" and lat is None):
        sort = "newest"
    q, category = request.args.get("q", "").strip()[:60], request.args.get("category", "").strip()[:40]
    try:
        items, cursor = service.list_shops(
            sort=sort,
            lat=lat,
            lng=lng,
            q=q,
            category=category or None,
            cursor=request.args.get("cursor") or None,
            limit=20,
        )
    except DomainError as exc:  # a stale or garbled cursor: start over
        flash(exc.message, "error")
        items, cursor = service.list_shops(sort=sort, lat=lat, lng=lng, q=q, category=category or None, limit=20)
    keep = {
        k: v
        for k, v in {"sort": sort, "lat": lat, "lng": lng, "q": q, "category": category}.items()
        if v not in (None, "")
    }
    more_url = url_for("multistore.shops", cursor=cursor, **keep) if cursor else None
    return render_template(
        "multistore/shop/list.html",
        items=items,
        sort=sort,
        lat=lat,
        lng=lng,
        q=q,
        category=category,
        categories=service.categories(),
        more_url=more_url,
        keep=keep,
    )


@shop.get("/shops/<int:merchant_id>", endpoint="shop_page")
def shop_page(merchant_id):
    """A shop's page: profile, announcement, products, and the notice of a
    shop that is not open (MS5)."""
    from jishi.catalog.service import list_products

    m = service.shop_for_buyer(merchant_id)
    if m is None:
        abort(404)
    record_visit("shop", m.id, m.id)
    state = service.effective_status(m)
    products, cursor, designed = [], None, None
    if state != "shut":
        # a page the merchant designed (the page designer's ``storefront_page``)
        # replaces the product grid below the shop's head
        user = current_user._get_current_object() if current_user.is_authenticated else None
        designed = current_app.extensions["jishi"].hook.storefront_page(slug=f"shop-{m.id}", user=user)
    if state != "shut" and designed is None:
        sort = request.args.get("sort", "newest")
        try:
            products, cursor = list_products(
                seller_id=m.id,
                sort=sort if sort in ("newest", "sales", "price_asc", "price_desc") else "newest",
                cursor=request.args.get("cursor") or None,
                limit=20,
            )
        except DomainError:
            products, cursor = list_products(seller_id=m.id, limit=20)
    more_url = url_for("multistore.shop_page", merchant_id=m.id, cursor=cursor) if cursor else None
    return render_template(
        "multistore/shop/shop.html",
        merchant=m,
        state=state,
        notice=service.shop_page_notice(m),
        status_label=service.status_labels().get(state, ""),
        products=products,
        more_url=more_url,
        designed=designed,
    )
