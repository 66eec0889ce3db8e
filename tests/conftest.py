from __future__ import annotations

import os
import sys

if "airflow" in sys.modules:  # its settings would already point at ~/airflow, not the test DB
    raise RuntimeError("airflow was imported before tests/conftest.py configured it")

from hypothesis import HealthCheck, settings

from tests import airflow_env

airflow_env.configure()

pytest_plugins = ["tests.integration"]

settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
