"""Multi-process start-up decides from its arguments and the environment (no JAX runtime needed)."""

import pytest

from gen_jax.train import distributed


def test_no_arguments_and_no_environment_is_a_single_process_run(monkeypatch):
    for name in (distributed.ENV_COORDINATOR, distributed.ENV_NUM_PROCESSES,
                 distributed.ENV_PROCESS_ID, distributed.ENV_AUTO):
        monkeypatch.delenv(name, raising=False)
    assert distributed.initialize() is False


def test_partial_settings_name_what_is_missing(monkeypatch):
    monkeypatch.delenv(distributed.ENV_PROCESS_ID, raising=False)
    monkeypatch.setenv(distributed.ENV_NUM_PROCESSES, "2")
    with pytest.raises(ValueError, match="missing: process_id"):
        distributed.initialize(coordinator_address="localhost:1234")
    with pytest.raises(ValueError, match=r"process_id must be in \[0, 2\), found 2"):
        distributed.initialize("localhost:1234", process_id=2)
    monkeypatch.setenv(distributed.ENV_PROCESS_ID, "one")
    with pytest.raises(ValueError, match="GEN_JAX_PROCESS_ID must be an integer, found 'one'"):
        distributed.initialize("localhost:1234")
