"""The embedded local stack: the real stack of infra/template.yaml, on moto, on loopback.

One description of the stack: the SAM template goes through aws-sam-translator's `transform()` (as
`sam deploy` would, after `sam package` has pointed CodeUri/ContentUri at s3:// zips and the ASL
file is inlined) and moto's CloudFormation `create_stack` builds the bucket, tables, roles, layers,
functions, state machine and EventBridge rule. Locally only the API Gateway resources are left
out (moto cannot build them; `lookmatch serve` turns HTTP requests into the same proxy events).

What moto cannot do without Docker is patched here, in-process:
- Lambda: invoking a function imports its real handler (functions/<name>/app.py, with the
  function's environment from the stack) and calls it; a raised exception becomes a function
  error {errorType, errorMessage}, so the state machine's Retry and Catch see it.
- EventBridge -> Step Functions: moto's rules do not start state machine targets; the patched
  rule starts the execution with the S3 "Object Created" event, as EventBridge would.
- moto's CloudFormation puts functions and state machines in other backends than the ones its
  API serves in this mode, skips the bucket's EventBridge setting and DefinitionSubstitutions,
  and cannot start a state machine twice: each is worked around below, with the reason.
Not reproduced locally: IAM enforcement (tests/test_stack.py checks each function's real calls
against its role instead), the bucket policy, Lambda timeouts and memory limits.
Requires the `local` extra (moto[server], aws-sam-translator).
"""
from __future__ import annotations

import copy
import importlib.util
import io
import json
import os
import socket
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .config import REPO_ROOT

TEMPLATE = REPO_ROOT / "infra" / "template.yaml"
REGION = "eu-west-1"
STACK_NAME = "lookmatch"
ARTIFACTS_BUCKET = "lookmatch-local-artifacts"
FINAL_STATUSES = ("DONE", "NO_PERSON", "FAILED")
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def quiet_server_logs() -> None:
    """No per-request lines; no warning about the bucket policy (moto's CloudFormation skips it)."""
    import logging
    import warnings

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::S3::BucketPolicy")


def log(message: str) -> None:
    print(f"[local stack] {message}", file=sys.stderr, flush=True)


# --- the template -----------------------------------------------------------------------------------
def load_template(path: Path = TEMPLATE) -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


class _NoManagedPolicies:
    """The template names no AWS managed policy by name, so the transform needs no IAM lookup."""

    def load(self) -> dict[str, str]:
        return {}


def to_cloudformation(template: dict, artifacts: dict[str, str], template_dir: Path = TEMPLATE.parent) -> dict:
    """SAM -> CloudFormation: code locations replaced by `artifacts` (logical id -> s3:// URI),
    state machine definitions inlined, then aws-sam-translator's transform."""
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = artifacts[name]
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = artifacts[name]
        elif res["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["Definition"] = json.loads((template_dir / props.pop("DefinitionUri")).read_text())
    return transform(template, {}, _NoManagedPolicies())


def without_api_gateway(cfn: dict) -> dict:
    """The template minus API Gateway and everything that refers to it (permissions, outputs)."""
    cfn = copy.deepcopy(cfn)
    removed = {name for name, res in cfn["Resources"].items() if res["Type"].startswith("AWS::ApiGateway::")}
    while True:
        more = {name for name, res in cfn["Resources"].items()
                if name not in removed and _mentions(res, removed)}
        if not more:
            break
        removed |= more
    for name in removed:
        del cfn["Resources"][name]
    cfn["Outputs"] = {k: v for k, v in cfn.get("Outputs", {}).items() if not _mentions(v, removed)}
    return cfn


def with_substituted_definitions(cfn: dict) -> dict:
    """moto's CloudFormation ignores a state machine's DefinitionSubstitutions: express them as the
    equivalent Fn::Sub over the definition (which moto resolves)."""
    cfn = copy.deepcopy(cfn)
    for res in cfn["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] != "AWS::StepFunctions::StateMachine" or "DefinitionSubstitutions" not in props:
            continue
        definition = props["DefinitionString"]
        if isinstance(definition, dict) and "Fn::Join" in definition:
            separator, parts = definition["Fn::Join"]
            definition = separator.join(parts)
        props["DefinitionString"] = {"Fn::Sub": [definition, props.pop("DefinitionSubstitutions")]}
    return cfn


def _mentions(value: Any, names: set[str]) -> bool:
    text = json.dumps(value)
    return any(f'"Ref": "{n}"' in text or f'["{n}",' in text or f"${{{n}}}" in text or f"${{{n}." in text
               for n in names)


def code_dirs(template: dict, template_dir: Path = TEMPLATE.parent) -> dict[str, Path]:
    """Logical id -> source folder of every function and layer."""
    out = {}
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        uri = props.get("CodeUri") or props.get("ContentUri")
        if res["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion") and isinstance(uri, str):
            out[name] = (template_dir / uri).resolve()
    return out


def _zip_dir(folder: Path, only_python: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if only_python:
            for path in sorted(folder.rglob("*.py")):
                if "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(folder).as_posix())
        # Layers: their code runs in-process from this checkout (the editable install), so the zip
        # only says where it comes from; `sam build` makes the real ones.
        archive.writestr("SOURCE.txt", f"local stack: code runs in-process from {folder}\n")
    return buffer.getvalue()


# --- moto patches ---------------------------------------------------------------------------------
class LocalFunction:
    """A function of the stack whose handler runs in this process."""

    def __init__(self, name: str, code_dir: Path, handler: str, environment: dict[str, str],
                 memory_mb: int = 128):
        self.name, self.code_dir, self.handler_spec, self.environment = name, code_dir, handler, environment
        self.memory_mb = memory_mb
        self._handler: Callable | None = None
        self._lock = threading.Lock()
        self._invoke_lock = threading.Lock()
        self.override: Callable | None = None  # tests: replace or wrap the real handler

    def handler(self) -> Callable:
        with self._lock:
            if self._handler is None:
                module_name, func_name = self.handler_spec.rsplit(".", 1)
                path = self.code_dir / f"{module_name}.py"
                spec = importlib.util.spec_from_file_location(f"lookmatch_function_{self.code_dir.name}", path)
                module = importlib.util.module_from_spec(spec)
                os.environ.update(self.environment)
                spec.loader.exec_module(module)
                self._handler = getattr(module, func_name)
            return self._handler

    def __call__(self, event: Any) -> Any:
        # One invocation at a time per function, as in one Lambda container (models and their
        # interpreters are not shared between concurrent requests there either).
        with self._invoke_lock:
            return self._invoke(event)

    def _invoke(self, event: Any) -> Any:
        _current.function = self.name
        try:
            return self._run(event)
        finally:
            _current.function = None

    def _run(self, event: Any) -> Any:
        os.environ.update(self.environment)
        context = SimpleNamespace(
            function_name=self.name, function_version="$LATEST", memory_limit_in_mb=self.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{self.name}",
            aws_request_id=str(uuid.uuid4()), log_group_name=f"/aws/lambda/{self.name}",
            log_stream_name="local", get_remaining_time_in_millis=lambda: 60_000)
        if self.override is not None:
            return self.override(event, context, self.handler)
        return self.handler()(event, context)


FUNCTIONS: dict[str, LocalFunction] = {}  # physical function name -> its handler
# Every AWS call a function made: (physical function name, "s3:GetObject", API parameters).
# The tests check them against each function's IAM policy in the template (least privilege).
AWS_CALLS: list[tuple[str, str, dict]] = []
_current = threading.local()
_patched = False


def _record_call(params: dict, model: Any, **kwargs: Any) -> None:
    function = getattr(_current, "function", None)
    # generate_presigned_post builds its URL from the CreateBucket model without calling it (the
    # upload itself is a PutObject signed by the function: the template grants it on uploads/*).
    if function is not None and model.name != "CreateBucket":
        prefix = model.service_model.signing_name
        AWS_CALLS.append((function, f"{prefix}:{model.name}", dict(params)))


def _patch_moto() -> None:
    global _patched
    if _patched:
        return
    import moto.awslambda.models
    import moto.stepfunctions.models
    from moto.awslambda_simple.models import LambdaSimpleBackend, lambda_simple_backends
    from moto.events.models import Rule
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    # With {"lambda": {"use_docker": false}} and {"stepfunctions": {"execute_state_machine": true}}
    # the API serves other backends than the ones moto's CloudFormation creates resources in:
    # point CloudFormation at those, so the stack's functions and state machine are the API's.
    moto.awslambda.models.lambda_backends = lambda_simple_backends
    moto.stepfunctions.models.stepfunctions_backends = stepfunctions_parser_backends

    original_invoke = LambdaSimpleBackend.invoke

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        fn = self.get_function(function_name, qualifier)
        local = FUNCTIONS.get(fn.function_name)
        if local is None:
            return original_invoke(self, function_name, qualifier, body, headers, response_headers)
        event = json.loads(body) if body else {}
        try:
            return json.dumps(local(event)).encode()
        except Exception as exc:  # noqa: BLE001 - every error is the function's error, as in Lambda
            response_headers["x-amz-function-error"] = "Unhandled"
            log(f"{fn.function_name}: {type(exc).__name__}: {exc}")
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                               "stackTrace": traceback.format_tb(exc.__traceback__)}).encode()

    original_send = Rule.send_to_targets
    swap = threading.Lock()

    def send_to_targets(self, original_event, transform_input=True):
        # moto raises NotImplementedError on a Step Functions target: start those here, pass the
        # others on to moto.
        states = [t for t in self.targets if t["Arn"].split(":")[2] == "states"]
        others = [t for t in self.targets if t not in states]
        if others:
            with swap:
                self.targets, all_targets = others, self.targets
                try:
                    original_send(self, original_event, transform_input)
                finally:
                    self.targets = all_targets
        if states and self.state == "ENABLED" and self.event_pattern.matches_event(original_event):
            for target in states:
                # EventBridge starts executions asynchronously; so does this.
                threading.Thread(target=_start_execution, args=(target["Arn"], original_event),
                                 daemon=True).start()

    def clone_without_executions(self, memo):
        # moto deep-copies the state machine at each start_execution, past executions included,
        # and those hold thread locks: the second execution would fail. Clone without them.
        clone = copy.copy(self)
        for name, value in self.__dict__.items():
            setattr(clone, name, [] if name == "executions" else copy.deepcopy(value, memo))
        return clone

    LambdaSimpleBackend.invoke = invoke
    moto.stepfunctions.models.StateMachine.__deepcopy__ = clone_without_executions
    Rule.send_to_targets = send_to_targets
    _patched = True


def _start_execution(state_machine_arn: str, event: dict) -> None:
    import boto3

    try:
        boto3.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=str(uuid.uuid4()), input=json.dumps(event, default=str))
    except Exception as exc:  # noqa: BLE001 - reported; the waiter times out with the reason
        log(f"could not start the state machine: {exc}")


# --- the stack ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStack:
    """Start with `with LocalStack() as stack:`; then `stack.upload(path)` and `stack.wait(photo_id)`."""

    def __init__(self, port: int | None = None, template: Path = TEMPLATE):
        self.port = port or _free_port()
        self.template_path = template
        self.server = None
        self._saved_environ: dict[str, str] | None = None
        self.resources: dict[str, str] = {}
        self.cfn: dict = {}  # the CloudFormation template the stack was created from
        self.outputs: dict[str, str] = {}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # lifecycle
    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        import requests
        from moto.server import ThreadedMotoServer

        started = time.monotonic()
        self._saved_environ = dict(os.environ)
        os.environ.update({
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.endpoint,
            "MOTO_PORT": str(self.port),  # moto's state machine interpreter calls Lambda here
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
        })
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
            os.environ.pop(name, None)
        _patch_moto()
        quiet_server_logs()
        import boto3

        boto3.setup_default_session()  # a fresh session: region and endpoint from the environment above
        boto3.DEFAULT_SESSION.events.register("before-parameter-build", _record_call)
        AWS_CALLS.clear()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10)
        requests.post(f"{self.endpoint}/moto-api/config", timeout=10, json={
            "stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        self.deploy()
        log(f"stack ready on {self.endpoint} in {time.monotonic() - started:.1f} s")

    def stop(self) -> None:
        """Stop the server and give the process its environment back."""
        from . import aws

        if self.server is not None:
            self.server.stop()
            self.server = None
        FUNCTIONS.clear()
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)
            self._saved_environ = None
        aws.settings.cache_clear()

    def deploy(self) -> None:
        import boto3

        from . import aws

        template = load_template(self.template_path)
        sources = code_dirs(template, self.template_path.parent)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=ARTIFACTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        artifacts = {}
        for name, folder in sources.items():
            key = f"{name}.zip"
            is_function = template["Resources"][name]["Type"] == "AWS::Serverless::Function"
            s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=_zip_dir(folder, only_python=is_function))
            artifacts[name] = f"s3://{ARTIFACTS_BUCKET}/{key}"
        cfn = with_substituted_definitions(without_api_gateway(
            to_cloudformation(template, artifacts, self.template_path.parent)))
        self.cfn = cfn
        client = boto3.client("cloudformation")
        client.create_stack(StackName=STACK_NAME, TemplateBody=json.dumps(cfn),
                            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
        stack = client.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            events = client.describe_stack_events(StackName=STACK_NAME)["StackEvents"]
            reasons = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events
                       if e.get("ResourceStatusReason")]
            raise RuntimeError(f"local stack not created ({stack['StackStatus']}): {reasons}")
        self.resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                          for r in client.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]}
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        # moto's CloudFormation ignores the bucket's notification settings: apply the template's.
        # (CloudFormation's EventBridgeEnabled: true is the S3 API's EventBridgeConfiguration: {}.)
        notifications = cfn["Resources"]["UploadsBucket"]["Properties"]["NotificationConfiguration"]
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=self.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
        self._register_functions(template, sources)
        aws.settings.cache_clear()
        os.environ.update({"UPLOADS_BUCKET": self.bucket, "INVENTORY_TABLE": self.inventory_table,
                           "RESULTS_TABLE": self.results_table})

    def _register_functions(self, template: dict, sources: dict[str, Path]) -> None:
        import boto3

        lam = boto3.client("lambda")
        FUNCTIONS.clear()
        for name, res in template["Resources"].items():
            if res["Type"] != "AWS::Serverless::Function":
                continue
            physical = self.resources[name]
            config = lam.get_function_configuration(FunctionName=physical)
            FUNCTIONS[physical] = LocalFunction(physical, sources[name], config["Handler"],
                                                config.get("Environment", {}).get("Variables", {}),
                                                config.get("MemorySize", 128))

    # names
    @property
    def bucket(self) -> str:
        return self.resources["UploadsBucket"]

    @property
    def inventory_table(self) -> str:
        return self.resources["InventoryTable"]

    @property
    def results_table(self) -> str:
        return self.resources["ResultsTable"]

    @property
    def state_machine_arn(self) -> str:
        return self.resources["Workflow"]

    def function(self, logical_id: str) -> LocalFunction:
        return FUNCTIONS[self.resources[logical_id]]

    # use
    def import_catalog(self, csv_path: Path, images_dir: Path, progress: bool = True) -> int:
        """The demo catalog into the Inventory table and the bucket (D2's importer)."""
        from .aws import InventoryTable, S3Store
        from .garments import GarmentModel
        from .inventory import import_catalog

        items = import_catalog(csv_path, images_dir, embedder=GarmentModel(),
                               inventory_port=InventoryTable(), image_store=S3Store(), progress=progress)
        return len(items)

    def upload(self, photo: Path | bytes, suffix: str = ".jpg", photo_id: str | None = None) -> str:
        """Put a photo under uploads/ as a client would; S3 -> EventBridge starts the workflow."""
        import boto3

        if isinstance(photo, Path):
            suffix, data = photo.suffix.lower(), photo.read_bytes()
        else:
            data = photo
        if suffix not in CONTENT_TYPES:
            raise ValueError(f"unsupported photo type {suffix!r}: use {', '.join(CONTENT_TYPES)}")
        photo_id = photo_id or uuid.uuid4().hex
        ext = "jpg" if suffix == ".jpeg" else suffix[1:]
        boto3.client("s3").put_object(Bucket=self.bucket, Key=f"uploads/{photo_id}.{ext}", Body=data,
                                      ContentType=CONTENT_TYPES[suffix])
        return photo_id

    def record(self, photo_id: str) -> dict | None:
        from .aws import ResultsTable

        return ResultsTable(self.results_table).get(photo_id)

    def wait(self, photo_id: str, timeout: float = 120.0) -> dict:
        """The photo's Results record once its status is final (DONE, NO_PERSON or FAILED)."""
        deadline = time.monotonic() + timeout
        record = None
        while time.monotonic() < deadline:
            record = self.record(photo_id)
            if record and record.get("status") in FINAL_STATUSES:
                return record
            time.sleep(0.1)
        raise TimeoutError(f"photo {photo_id} not finished after {timeout:.0f} s "
                           f"(record: {record}); executions: {self.executions()}")

    def executions(self) -> list[dict]:
        import boto3

        sfn = boto3.client("stepfunctions")
        return [{"name": e["name"], "status": e["status"]}
                for e in sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]]

    def get_bytes(self, key: str) -> bytes:
        from .aws import S3Store

        return S3Store(self.bucket).get_bytes(key)
