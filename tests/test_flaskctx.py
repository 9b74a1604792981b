"""jishi.flaskctx: the current app read without werkzeug's proxy (issue 20)."""

import pytest
from flask import Flask, current_app
from jishi.flaskctx import current_app_object, jishi_hook


def test_the_app_of_the_context_and_its_hooks(app):
    with app.app_context():
        assert current_app_object() is app
        assert current_app_object() is current_app._get_current_object()
        assert jishi_hook() is app.extensions["jishi"].hook
    other = Flask("other")
    with other.app_context():  # the innermost context's app, as current_app gives
        assert current_app_object() is other
        with app.app_context():
            assert current_app_object() is app
        assert current_app_object() is other


def test_outside_an_app_context_it_refuses_as_current_app_does():
    with pytest.raises(RuntimeError, match="application context"):
        current_app_object()
    with pytest.raises(RuntimeError, match="application context"):
        jishi_hook()
