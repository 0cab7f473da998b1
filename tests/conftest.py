import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared/data relative to the repo root (CI clones the repo with shared/ beside it).
SHARED_DATA = Path(os.environ.get("GEN_JAX_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data():
    return SHARED_DATA
