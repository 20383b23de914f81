"""The migrations form one chain: two branches that each add "the next" migration must be re-chained
before they land (alembic keeps only one file of a duplicated revision id, silently)."""

from __future__ import annotations

import re

from alembic.script import ScriptDirectory

from coach.migrations import HERE, alembic_config
from coach.store import make_engine

REVISION = re.compile(r"^revision\b[^=\n]*= ['\"](\w+)['\"]", re.MULTILINE)

def test_every_migration_file_has_its_own_revision_id():
    ids = [REVISION.search(path.read_text()).group(1)
           for path in sorted((HERE / "versions").glob("*.py"))]
    assert len(ids) == len(set(ids)), ids


def test_the_migrations_form_one_chain_with_one_head(tmp_path):
    scripts = ScriptDirectory.from_config(alembic_config(make_engine(f"sqlite:///{tmp_path}/db.sqlite")))
    assert len(scripts.get_heads()) == 1
    chain = list(scripts.walk_revisions())  # from the head down to the first
    assert len(chain) == len(list((HERE / "versions").glob("*.py")))
    assert chain[-1].down_revision is None
