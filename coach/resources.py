"""Where the folders coach reads at run time are: knowledge/, prompts/ and web/.

They sit at the top of the repository, beside coach/, which is where a checkout or an editable install
reads them; a wheel carries copies inside the package, as coach/_data/<folder> (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def data_folder(name: str) -> Path:
    packaged = PACKAGE_DIR / "_data" / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


KNOWLEDGE_DIR = data_folder("knowledge")
PROMPTS_DIR = data_folder("prompts")
WEB_DIR = data_folder("web")
