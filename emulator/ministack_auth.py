"""Starts MiniStack as `python -m ministack` does, with every request counted as made over TLS.

Used only for the IAM-enforcing run (SPOOL_EMULATOR_AUTH=1, which sets AUTH=true). MiniStack then
resolves aws:SecureTransport from the connection, and its plain-HTTP endpoint makes it "false" for
every request: each `enforceSSL` resource policy (Spool's queues and topics, the CDK bootstrap
bucket) denies every call, the account root's included, so nothing deploys and no grant could be
tested. On AWS every SDK call is TLS. MiniStack reads the scheme a TLS-terminating proxy reports
(X-Forwarded-Proto); this adds that header, which is what a proxy in front of it would do.
MiniStack's own HTTPS (USE_SSL) would need a trusted certificate in every Node process, the Lambda
workers included. Refusing a plain-HTTP caller stays proven by the access proof.
"""

import ministack.app as ministack_app

_serve = ministack_app.app


async def _over_tls(scope, receive, send):
    if scope.get("type") in ("http", "websocket"):
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"x-forwarded-proto"]
        scope = {**scope, "headers": [*headers, (b"x-forwarded-proto", b"https")]}
    await _serve(scope, receive, send)


# main() serves the module's `app` by name, so it serves this wrapper.
ministack_app.app = _over_tls
ministack_app.main()
