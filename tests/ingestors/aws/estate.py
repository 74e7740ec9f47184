"""A real AWS estate in moto's server: resources made with boto3, as a team would make them."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import boto3
import httpx

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
OTHER_REGION = "us-east-1"
FAKE_KEYS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


class Moto:
    """Clients of one account of a running moto server (``keys``: an assumed role's)."""

    def __init__(self, url: str, keys: dict[str, str] | None = None) -> None:
        self.url = url
        self.keys = keys or {}

    def client(self, service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.url, **self.keys)

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset").raise_for_status()

    def assume(self, role_arn: str) -> Moto:
        keys = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="tests")
        credentials = keys["Credentials"]
        return Moto(
            self.url,
            {
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            },
        )

    # -- resources -------------------------------------------------------------------------
    def role(self) -> str:
        iam = self.client("iam")
        try:
            return str(iam.get_role(RoleName="lambda-exec")["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            created = iam.create_role(RoleName="lambda-exec", AssumeRolePolicyDocument="{}")
            return str(created["Role"]["Arn"])

    def function(self, name: str, tags: dict[str, str], region: str = REGION) -> str:
        created = self.client("lambda", region).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role(),
            Handler="handler.handle",
            Code={"ZipFile": _zip()},
            Description=f"{name} handler",
            Tags=tags,
        )
        return str(created["FunctionArn"])

    def queue(self, name: str, tags: dict[str, str], region: str = REGION) -> str:
        sqs = self.client("sqs", region)
        url = sqs.create_queue(QueueName=name, tags=tags)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def delete_queue(self, name: str, region: str = REGION) -> None:
        sqs = self.client("sqs", region)
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def table(self, name: str, tags: dict[str, str], region: str = REGION) -> str:
        created = self.client("dynamodb", region).create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        return str(created["TableDescription"]["LatestStreamArn"])

    def topic(self, name: str, tags: dict[str, str], region: str = REGION) -> str:
        created = self.client("sns", region).create_topic(
            Name=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
        return str(created["TopicArn"])

    def bucket(self, name: str, tags: dict[str, str], region: str = REGION) -> None:
        s3 = self.client("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if tags:
            s3.put_bucket_tagging(
                Bucket=name,
                Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
            )

    def tag_function(self, arn: str, tags: dict[str, str], region: str = REGION) -> None:
        self.client("lambda", region).tag_resource(Resource=arn, Tags=tags)

    def estate(self) -> None:
        """One of everything in eu-west-1, linked the way a payments team would link it."""
        team = {"owner": "team-payments", "component": "payments", "environment": "Production"}
        checkout = self.function("checkout", {**team, "system": "shop"})
        worker = self.function("ledger-writer", {"team": "group:default/team-ledger"})
        orders = self.queue("orders", {"owner": "team-payments", "cost-centre": "cc 42"})
        stream = self.table("ledger", {"owner": "team-ledger", "service": "ledger, payments"})
        lam = self.client("lambda")
        lam.create_event_source_mapping(EventSourceArn=orders, FunctionName="checkout")
        lam.create_event_source_mapping(
            EventSourceArn=stream, FunctionName=worker, StartingPosition="LATEST"
        )
        self.topic("payment-events", {"owner": "team-payments"})
        self.bucket("acme-receipts", {"owner": "team-payments"}, region=REGION)
        self.bucket("acme-audit-logs", {}, region="us-east-1")

        ecs = self.client("ecs")
        ecs.create_cluster(clusterName="main", tags=[{"key": "owner", "value": "team-platform"}])
        ecs.register_task_definition(
            family="web", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}]
        )
        ecs.create_service(
            cluster="main",
            serviceName="storefront",
            taskDefinition="web",
            desiredCount=1,
            tags=[{"key": "component", "value": "storefront"}, {"key": "env", "value": "staging"}],
        )
        self.client("eks").create_cluster(
            name="platform",
            roleArn=self.role(),
            resourcesVpcConfig={},
            tags={"owner": "team-platform"},
        )
        rds = self.client("rds")
        rds.create_db_cluster(
            DBClusterIdentifier="orders-db",
            Engine="aurora-postgresql",
            MasterUsername="app",
            MasterUserPassword="password-123",
            Tags=[{"Key": "owner", "Value": "team-payments"}],
        )
        rds.create_db_instance(
            DBInstanceIdentifier="orders-db-1",
            DBInstanceClass="db.r6g.large",
            Engine="aurora-postgresql",
            DBClusterIdentifier="orders-db",
            Tags=[{"Key": "owner", "Value": "team-payments"}],
        )
        rest = self.client("apigateway")
        api = rest.create_rest_api(name="public", tags={"owner": "team-payments"})
        root = rest.get_resources(restApiId=api["id"])["items"][0]["id"]
        rest.put_method(
            restApiId=api["id"], resourceId=root, httpMethod="POST", authorizationType="NONE"
        )
        rest.put_integration(
            restApiId=api["id"],
            resourceId=root,
            httpMethod="POST",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{checkout}/invocations",
        )
        http = self.client("apigatewayv2")
        webhooks = http.create_api(
            Name="webhooks", ProtocolType="HTTP", Tags={"owner": "team-ledger"}
        )
        http.create_integration(
            ApiId=webhooks["ApiId"],
            IntegrationType="AWS_PROXY",
            IntegrationUri=worker,
            PayloadFormatVersion="2.0",
        )
