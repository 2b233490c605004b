"""Authentication (bearer tokens) and authorisation (scopes, experiment permissions).

Off by default; `trackwire server --auth` turns it on. The wires authenticate (each gRPC
handler and the HTTP middleware read the token and set `current_identity`); the secured
services in `guard.py` authorise every call from the policy option of its RPC descriptor.
"""
