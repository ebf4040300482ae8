"""The review web app: server-rendered pages over the referral queue (docs/webapp.md).

    from yocho.settings import load_settings
    from webapp import create_app, serve

    app = create_app(load_settings())        # an ASGI app (FastAPI)
    serve(load_settings(), host="127.0.0.1", port=8000)

Every page acts as the logged-in user through `signals.queue`, which scopes each read and
write by role; the app adds sessions, CSRF tokens, translations (ja/en) and charts.
"""
from webapp.app import create_app, serve

__all__ = ["create_app", "serve"]
