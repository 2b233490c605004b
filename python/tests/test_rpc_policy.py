"""Every RPC states its policy in the schema, completely."""

import pytest

from trackwire.rpc_policy import SERVICES, Access, AuthTarget, Retry, policy_of

METHODS = [method for service in SERVICES for method in service.methods]


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_every_rpc_states_its_policy(method):
    policy = policy_of(method)
    assert policy.access != Access.ACCESS_UNSPECIFIED
    assert policy.retry != Retry.RETRY_UNSPECIFIED
    assert policy.auth_target != AuthTarget.AUTH_TARGET_UNSPECIFIED


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_idempotency_keys_are_where_the_policy_says(method):
    policy = policy_of(method)
    request = method.input_type
    if method.client_streaming and policy.auth_target == AuthTarget.AUTH_TARGET_EACH_BATCH:
        request = request.fields_by_name["batch"].message_type
    has_key = "request_id" in request.fields_by_name
    assert has_key == (policy.retry == Retry.RETRY_WITH_REQUEST_ID)


def test_reads_are_safe_to_retry_and_never_quick_writes():
    for method in METHODS:
        policy = policy_of(method)
        if policy.access in (Access.ACCESS_READ, Access.ACCESS_MANAGE_READ):
            assert policy.retry == Retry.RETRY_SAFE, method.name
            assert not policy.quick_write, method.name
