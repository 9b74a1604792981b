"""Reading HTML forms in tests: the fields a browser would submit by default."""

from __future__ import annotations


class _FormParser:
    """Collects the forms of a page: action, method and default field values."""

    def __init__(self, html: str):
        from html.parser import HTMLParser

        self.forms: list[dict] = []
        forms = self.forms

        class P(HTMLParser):
            current = None
            select = None
            textarea = None

            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "form":
                    self.current = {
                        "action": a.get("action", ""),
                        "method": a.get("method", "get").lower(),
                        "fields": {},
                        "buttons": [],
                    }
                    forms.append(self.current)
                elif self.current is None:
                    return
                elif tag == "input":
                    kind = a.get("type", "text")
                    name = a.get("name")
                    if not name:
                        return
                    if kind in ("checkbox", "radio"):
                        if "checked" in a:
                            self.current["fields"].setdefault(name, a.get("value", "on"))
                    elif kind == "submit":
                        self.current["buttons"].append((name, a.get("value", "")))
                    else:
                        self.current["fields"][name] = a.get("value", "")
                elif tag == "select":
                    self.select = a.get("name")
                elif tag == "option" and self.select:
                    if ("selected" in a or self.select not in self.current["fields"]) and "disabled" not in a:
                        self.current["fields"][self.select] = a.get("value", "")
                elif tag == "textarea" and a.get("name"):
                    self.textarea = a["name"]
                    self.current["fields"][a["name"]] = ""
                elif tag == "button" and a.get("name"):
                    self.current["buttons"].append((a["name"], a.get("value", "")))

            def handle_data(self, data):
                if self.current is not None and self.textarea:
                    self.current["fields"][self.textarea] += data

            def handle_endtag(self, tag):
                if tag == "textarea":
                    self.textarea = None
                elif tag == "form":
                    self.current = None
                elif tag == "select":
                    self.select = None

        P().feed(html)

    def find(self, action_part: str) -> dict:
        for form in self.forms:
            # "" is a form posting to its own page (no action), not any form
            if (action_part in form["action"]) if action_part else not form["action"]:
                return form
        raise AssertionError(f"no form posting to {action_part!r}; forms: {[f['action'] for f in self.forms]}")


def page_form(resp, action_part: str) -> dict:
    """The default field values of the form on ``resp`` whose action contains
    ``action_part`` (``""``: the form posting to the page itself)."""
    form = _FormParser(resp.get_data(as_text=True)).find(action_part)
    return dict(form["fields"])


def form_actions(resp) -> list[str]:
    return [f["action"] for f in _FormParser(resp.get_data(as_text=True)).forms]
