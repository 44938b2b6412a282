"""Pose stage: decode the uploaded photo, find the person, write pose.json and annotated.jpg.

Marks the Results record PROCESSING (creating it when the upload did not go through the API) and
records NO_PERSON when nobody is found. A bad file raises BadUpload / BadImage (never retried).
"""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser

from lookmatch import pipeline, stages
from lookmatch.aws import ResultsTable, S3Store
from lookmatch.face import face_detector

logger = Logger()
tracer = Tracer()
metrics = Metrics()
store = S3Store()
results = ResultsTable()
pipeline.pose_estimator()  # load BlazePose at import: once per container, not per photo
face_detector()  # and the face detector, which confirms a turn (pipeline.stood_up)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=stages.PoseEvent)
def lambda_handler(event: stages.PoseEvent, context) -> dict:
    logger.append_keys(key=event.key)
    out = stages.run_pose_stage(event.key, event.size, store, results)
    metrics.add_metric(name="PersonFound" if out["person"] else "NoPerson", unit=MetricUnit.Count, value=1)
    logger.info("pose read", extra={"person": out["person"], "people_count": out["people_count"]})
    return out
