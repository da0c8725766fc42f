"""The API tests' keys and clients, for the callbacks endpoints."""

from tests.api.conftest import _fresh_throttles, api_a, api_b, key_a, key_b  # noqa: F401
