"""The medlens service: FastAPI app factory, routes per resource, auth, bounded job worker (DESIGN.md §7).

Needs the ``server`` extra (fastapi, uvicorn, sqlalchemy, alembic, psycopg, httpx, python-multipart,
itsdangerous). Import ``medlens.server.app`` for :func:`create_app` and :func:`run`.
"""
