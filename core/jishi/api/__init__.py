"""The JSON API under /api/v1 (SPEC K14): flask-smorest, marshmallow schemas
that both validate requests and generate /api/v1/openapi.json."""
