"""Persistence: SQLAlchemy 2 models, Alembic migrations, repositories, the outbox, the leader lock."""
