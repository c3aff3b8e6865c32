"""Starts MiniStack as `python -m ministack` does, for the IAM-enforcing run (SPOOL_EMULATOR_AUTH=1,
which also sets AUTH=true), with three corrections that make its evaluator judge Spool's requests
as AWS does. Each one removes a denial AWS would not make; none allows anything AWS would refuse.
What AUTH=true enforces, and what it does not, is in docs/emulator-matrix.md ("IAM enforcement").

1. Every request counts as made over TLS. MiniStack resolves aws:SecureTransport from the
   connection, and over its plain-HTTP endpoint every enforceSSL resource policy (Spool's queues
   and topics, the CDK bootstrap bucket) denies every call, the account root's included: nothing
   deploys. Every SDK call to AWS is TLS. MiniStack reads the scheme a TLS-terminating proxy
   reports (X-Forwarded-Proto); this adds that header, as such a proxy would. (Its own HTTPS,
   USE_SSL, would need its certificate trusted by every Node process, the Lambda workers too.)
   Refusing a plain-HTTP caller stays proven by the access proof.
2. SQS batch calls are authorized as their single-message actions. MiniStack uses the operation
   name as the IAM action (sqs:ChangeMessageVisibilityBatch); IAM has no such actions: AWS checks
   SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch as sqs:SendMessage,
   sqs:DeleteMessage and sqs:ChangeMessageVisibility.
3. cloudwatch:PutMetricData carries its cloudwatch:namespace condition key, which MiniStack never
   sets: a grant held to one namespace (the queue sampler's) was denied in every namespace.
"""

import json

import ministack.app as ministack_app
import ministack.core.iam_actions as iam_actions

_SQS_BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}

_serve = ministack_app.app
_extract_iam_action = iam_actions.extract_iam_action
_request_tag_context = iam_actions.request_tag_context


async def _over_tls(scope, receive, send):
    if scope.get("type") in ("http", "websocket"):
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"x-forwarded-proto"]
        scope = {**scope, "headers": [*headers, (b"x-forwarded-proto", b"https")]}
    await _serve(scope, receive, send)


def _iam_action(service, method, path, headers, body, query_params):
    action = _extract_iam_action(service, method, path, headers, body, query_params)
    return _SQS_BATCH_ACTIONS.get(action, action) if service == "sqs" else action


def _namespace(body, params):
    try:
        data = json.loads(body) if body[:1] == b"{" else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = {}
    namespace = data.get("Namespace") if isinstance(data, dict) else None
    if namespace is None:
        namespace = params.get("Namespace")
        namespace = namespace[0] if isinstance(namespace, list) and namespace else namespace
    return namespace if isinstance(namespace, str) else None


def _request_context(service, iam_action, body, params):
    context = _request_tag_context(service, iam_action, body, params)
    if iam_action == "cloudwatch:PutMetricData" and (namespace := _namespace(body or b"", params)):
        context = {**context, "cloudwatch:namespace": namespace}
    return context


# MiniStack imports these inside each request, and main() serves the module's `app` by name.
iam_actions.extract_iam_action = _iam_action
iam_actions.request_tag_context = _request_context
ministack_app.app = _over_tls
ministack_app.main()
