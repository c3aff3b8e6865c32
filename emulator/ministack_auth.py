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
4. A schedule's ARN names its group. MiniStack checks every schedule call against
   schedule/default/<name>, whatever group the call names, so a grant on schedule/<group>/* (every
   Spool grant: delayed tasks, recurring jobs) was denied.
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
_extract_resource_arn = iam_actions.extract_resource_arn


async def _over_tls(scope, receive, send):
    if scope.get("type") in ("http", "websocket"):
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"x-forwarded-proto"]
        scope = {**scope, "headers": [*headers, (b"x-forwarded-proto", b"https")]}
    await _serve(scope, receive, send)


def _iam_action(service, method, path, headers, body, query_params):
    action = _extract_iam_action(service, method, path, headers, body, query_params)
    return _SQS_BATCH_ACTIONS.get(action, action) if service == "sqs" else action


def _json_field(body, name):
    try:
        data = json.loads(body) if body[:1] == b"{" else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = {}
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _param(params, name):
    value = params.get(name)
    value = value[0] if isinstance(value, list) and value else value
    return value if isinstance(value, str) else None


def _resource_arn(service, method, path, headers, body, query_params, region, account_id):
    arn = _extract_resource_arn(service, method, path, headers, body, query_params, region, account_id)
    prefix = f"arn:aws:scheduler:{region}:{account_id}:schedule/default/"
    if service == "scheduler" and arn.startswith(prefix):
        # Get/Delete name the group in the query string, Create/Update in the body.
        group = _param(query_params, "groupName") or _json_field(body or b"", "GroupName")
        if group:
            arn = f"arn:aws:scheduler:{region}:{account_id}:schedule/{group}/{arn[len(prefix):]}"
    return arn


def _namespace(body, params):
    return _json_field(body, "Namespace") or _param(params, "Namespace")


def _request_context(service, iam_action, body, params):
    context = _request_tag_context(service, iam_action, body, params)
    if iam_action == "cloudwatch:PutMetricData" and (namespace := _namespace(body or b"", params)):
        context = {**context, "cloudwatch:namespace": namespace}
    return context


# MiniStack imports these inside each request, and main() serves the module's `app` by name.
iam_actions.extract_iam_action = _iam_action
iam_actions.request_tag_context = _request_context
iam_actions.extract_resource_arn = _resource_arn
ministack_app.app = _over_tls
ministack_app.main()
