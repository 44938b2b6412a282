"""Recommend stage: in-stock items matching the reading -> the DONE Results record (NO_PERSON when
Classify found the pose's person made up and no legs to read in it)."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser

from lookmatch import stages
from lookmatch.aws import InventoryTable, ResultsTable, S3Store

logger = Logger()
tracer = Tracer()
metrics = Metrics()
store = S3Store()
results = ResultsTable()
inventory = InventoryTable()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=stages.RecommendEvent)
def lambda_handler(event: stages.RecommendEvent, context) -> dict:
    logger.append_keys(photo_id=event.photo_id)
    out = stages.run_recommend_stage(
        event.photo_id, event.image_key, event.reading_key, store, results, inventory,
        people_count=event.people_count, annotated_key=event.annotated_key)
    metrics.add_metric(name="ItemsRecommended", unit=MetricUnit.Count, value=out["recommended"])
    return out
