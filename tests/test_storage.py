"""Storage functions leave the transaction to their caller."""

from __future__ import annotations

from coach import store
from coach.migrations import prepare_database, upgrade


def migrated(settings):
    db_engine = store.make_engine(settings.sqlalchemy_url)
    prepare_database(db_engine, settings) if settings.sqlalchemy_url.startswith("sqlite") else upgrade(db_engine)
    return db_engine


def test_counting_a_hit_leaves_the_commit_to_the_caller(settings):
    db_engine = migrated(settings)
    with db_engine.connect() as db:
        assert store.count_hit(db=db, key="answers:10.0.0.1", window_start=0) == 1
        db.rollback()  # the caller changed its mind: the hit must not have been committed already
        assert store.count_hit(db=db, key="answers:10.0.0.1", window_start=0) == 1
        db.commit()
    with db_engine.connect() as db:
        assert store.count_hit(db=db, key="answers:10.0.0.1", window_start=0) == 2
