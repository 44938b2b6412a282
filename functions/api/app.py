"""API function: POST /uploads (presigned upload, PENDING record), GET /recommendations/{photo_id}.

Thin: the routes, models and errors are lookmatch.api's; this wires the boto3 adapters once.
"""
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from lookmatch.api import build_app
from lookmatch.aws import ResultsTable, S3Store

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = build_app(store=S3Store(), results=ResultsTable(), allow_origin=os.environ.get("ALLOWED_ORIGIN", "*"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    response = app.resolve(event, context)
    metrics.add_metric(name=metric_name(response["statusCode"]), unit=MetricUnit.Count, value=1)
    return response


def metric_name(status: int) -> str:
    if status >= 500:
        return "ServerErrors"
    if status >= 400:
        return "ClientErrors"
    return {201: "UploadsRequested", 200: "ResultsRead"}.get(status, "Preflights")
