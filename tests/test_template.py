"""infra/template.yaml and infra/statemachine.asl.json: valid, and saying what issue 3 asks.

The fast checks use aws-sam-translator (the transform `sam deploy` runs) and cfn-lint on the
transformed template with the state machine inlined. `sam validate --lint` and asl-validator (a
statelint equivalent from npm) run when installed: `make tools` installs them (.venv-sam, .tools).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from lookmatch.config import REPO_ROOT
from lookmatch.local_stack import code_dirs, load_template, to_cloudformation

ASL = REPO_ROOT / "infra" / "statemachine.asl.json"
TEMPLATE = REPO_ROOT / "infra" / "template.yaml"
TASKS = ("Pose", "Classify", "Recommend")
TRANSIENT = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
             "Lambda.TooManyRequestsException", "TransientError"}


@pytest.fixture(scope="module")
def sam() -> dict:
    return load_template()


@pytest.fixture(scope="module")
def cfn(sam) -> dict:
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")  # the transform needs a region
    artifacts = {name: f"s3://artifacts/{name}.zip" for name in code_dirs(sam)}
    return to_cloudformation(sam, artifacts)


@pytest.fixture(scope="module")
def asl() -> dict:
    return json.loads(ASL.read_text())


def resources(cfn, kind):
    return {k: v["Properties"] for k, v in cfn["Resources"].items() if v["Type"] == kind}


def test_transform_gives_every_resource_of_the_stack(cfn):
    kinds = {v["Type"] for v in cfn["Resources"].values()}
    assert {"AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::DynamoDB::Table", "AWS::Lambda::Function",
            "AWS::Lambda::LayerVersion", "AWS::StepFunctions::StateMachine", "AWS::Events::Rule",
            "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage", "AWS::IAM::Role"} <= kinds
    assert len(resources(cfn, "AWS::Lambda::LayerVersion")) == 5
    assert set(cfn["Outputs"]) >= {"ApiUrl", "UploadsBucketName", "InventoryTableName", "ResultsTableName"}


def test_bucket_is_private_encrypted_tls_only_and_expires_photos(cfn):
    bucket = cfn["Resources"]["UploadsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    expiring = {r.get("Prefix") for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r}
    assert expiring == {"uploads/", "derived/"}  # inventory/ is kept
    policy = cfn["Resources"]["UploadsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false" for s in policy)


def test_tables_keys_index_and_ttl(cfn):
    inventory = cfn["Resources"]["InventoryTable"]["Properties"]
    assert inventory["KeySchema"] == [{"AttributeName": "sku", "KeyType": "HASH"}]
    (gsi,) = inventory["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "ByGenderCategory"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["gender_category", "sku"]
    results = cfn["Resources"]["ResultsTable"]["Properties"]
    assert results["KeySchema"] == [{"AttributeName": "photo_id", "KeyType": "HASH"}]
    assert results["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


def test_functions_python311_traced_with_settings_and_least_privilege(cfn):
    functions = resources(cfn, "AWS::Lambda::Function")
    assert len(functions) == 5
    for props in functions.values():
        assert props["Runtime"] == "python3.11" and props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        assert {"UPLOADS_BUCKET", "INVENTORY_TABLE", "RESULTS_TABLE", "POWERTOOLS_SERVICE_NAME",
                "POWERTOOLS_METRICS_NAMESPACE"} <= set(env)
        assert len(props["Layers"]) == len(set(json.dumps(x) for x in props["Layers"]))  # no layer twice
    for name, role in resources(cfn, "AWS::IAM::Role").items():
        for policy in role.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert not any(a == "*" or a.endswith(":*") for a in actions), (name, statement)
                assert statement.get("Resource") != "*" or all(a.startswith("xray:") for a in actions), (name, statement)


def test_state_machine_started_by_object_created_under_uploads(cfn):
    (rule,) = resources(cfn, "AWS::Events::Rule").values()
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "uploads/"}]
    assert rule["Targets"][0]["Arn"] == {"Ref": "Workflow"}


def test_asl_every_task_retries_transient_errors_and_catches_to_record_failure(asl, sam):
    states = asl["States"]
    for name in TASKS:
        task = states[name]
        retried = {e for r in task["Retry"] for e in r["ErrorEquals"]}
        assert retried == TRANSIENT, name
        assert all(r["BackoffRate"] > 1 and r["MaxAttempts"] >= 2 for r in task["Retry"])
        assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]
    assert states["RecordFailure"]["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"
    assert states["PersonFound"]["Type"] == "Choice" and states["PersonFound"]["Default"] == "NoPerson"
    # Every ${...} in the definition is substituted by the template, and every state is reachable.
    text = ASL.read_text()
    subs = sam["Resources"]["Workflow"]["Properties"]["DefinitionSubstitutions"]
    assert {p.split("}")[0] for p in text.split("${")[1:]} == set(subs)
    reachable, todo = set(), [asl["StartAt"]]
    while todo:
        state = states[todo.pop()]
        targets = [state.get("Next"), state.get("Default")] + [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
        for t in filter(None, targets):
            if t not in reachable:
                reachable.add(t)
                todo.append(t)
    assert reachable | {asl["StartAt"]} == set(states)


def test_only_keys_travel_between_states(asl):
    # The state data carries the event and small results selected field by field, never a payload.
    for name in TASKS:
        selected = asl["States"][name]["ResultSelector"]
        assert all(v.startswith("$.Payload.") for v in selected.values())


def test_cfn_lint_on_the_transformed_template_with_the_definition_inlined(cfn):
    from cfnlint.api import ManualArgs, lint

    cfn = json.loads(json.dumps(cfn))
    for props in resources(cfn, "AWS::StepFunctions::StateMachine").values():
        # As an object (not SAM's Fn::Join of lines) cfn-lint checks it against the ASL schema (E3601).
        separator, lines = props.pop("DefinitionString")["Fn::Join"]
        props["Definition"] = json.loads(separator.join(lines))
    matches = lint(json.dumps(cfn), config=ManualArgs(regions=["eu-west-1"]))
    errors = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]
    assert errors == []


def _tool(*candidates) -> str | None:
    return next((str(c) for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)


def test_sam_validate_and_lint():
    sam_cli = _tool(REPO_ROOT / ".venv-sam" / "bin" / "sam", shutil.which("sam"))
    if sam_cli is None:
        pytest.skip("aws-sam-cli not installed (`make tools` installs it: python3.11 -m venv .venv-sam && "
                    ".venv-sam/bin/pip install aws-sam-cli)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    for extra in ([], ["--lint"]):
        done = subprocess.run([sam_cli, "validate", "--region", "eu-west-1", "-t", str(TEMPLATE), *extra],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr


def test_asl_validator_statelint_equivalent():
    tool = _tool(REPO_ROOT / ".tools" / "node_modules" / ".bin" / "asl-validator", shutil.which("asl-validator"))
    if tool is None:
        pytest.skip("asl-validator not installed (`make tools` installs it: npm install --prefix .tools asl-validator@4.0.0)")
    done = subprocess.run([tool, "--json-path", str(ASL)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
