"""Schemathesis: requests generated from the OpenAPI schema, valid and invalid, never get a server error, and
every answer is one the schema documents, in the shape it documents."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance,
)

from api.app import create_app

# Loaded at collection: warm=False keeps that to reading /openapi.json (no data dir, no models yet).
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(rate_per_s=0, warm=False))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def snapshot_dir(in_pipeline_dir):
    return in_pipeline_dir


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    case.call_and_validate(checks=CHECKS)
