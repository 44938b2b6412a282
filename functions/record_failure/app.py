"""The Catch of every task: the photo's Results record says FAILED and why."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser

from lookmatch import stages
from lookmatch.aws import ResultsTable

logger = Logger()
tracer = Tracer()
metrics = Metrics()
results = ResultsTable()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=stages.FailureEvent)
def lambda_handler(event: stages.FailureEvent, context) -> dict:
    out = stages.record_failure(event.key, event.error, results)
    metrics.add_metric(name="PhotosFailed", unit=MetricUnit.Count, value=1)
    logger.warning("photo failed", extra={"failure": out})
    return out
