"""Classify stage: gender, garment labels, scores, embeddings and colours -> reading.json."""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser

from lookmatch import stages
from lookmatch.aws import S3Store
from lookmatch.garments import garment_model
from lookmatch.gender import gender_model
from lookmatch.pipeline import classify

logger = Logger()
tracer = Tracer()
metrics = Metrics()
store = S3Store()
garment_model(), gender_model()  # load the garment and gender models at import, once per container


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=stages.ClassifyEvent)
def lambda_handler(event: stages.ClassifyEvent, context) -> dict:
    logger.append_keys(photo_id=event.photo_id)
    out = stages.run_classify_stage(event.photo_id, event.image_key, event.pose_key, store,
                                      classify=classify)
    metrics.add_metric(name="PhotosClassified", unit=MetricUnit.Count, value=1)
    return out
