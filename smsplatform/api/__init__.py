"""The REST API's plumbing: key authentication, the account a request acts for, one
error shape, pagination, throttling per key, idempotency and the OpenAPI schema.

The endpoints live beside the code they call (`accounts/api.py`, `campaigns/api/`,
`blacklist/api.py`, `callbacks/api.py`) and are routed by `smsplatform/api/urls.py`.
"""
