"""LookMatch domain package: photo of a person in, garments and matching items out.

Shared by the Lambda functions (as a layer), the command line and the tests. It does not import
boto3: storage goes through the adapters in `lookmatch.aws` (issue "The serverless workflow").
"""
