"""`cxone:AccountMapping`: the CXone side of the connection to the Salesforce org."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from presence_sync.spec.models import AccountMapping
from providers.cxone_account_mapping import CxoneAccountMappingProvider

SECRET_OUTPUTS = ["accessKeySecret", "consumerSecret"]


class CxoneAccountMapping(Resource, module="cxone", name="AccountMapping"):
    @property
    def mapping_id(self) -> pulumi.Output[str]:
        return self.mappingId  # type: ignore[attr-defined]

    def __init__(
        self,
        mapping: AccountMapping,
        consumer_key: pulumi.Input[str],
        consumer_secret: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        *,
        location: str | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": mapping.name,
            "accessKeyUser": mapping.access_key_user,
            "salesforceEnvironment": {
                "name": mapping.salesforce_environment.name,
                "instanceUrl": mapping.salesforce_environment.instance_url,
            },
            "consumerKey": consumer_key,
            "consumerSecret": pulumi.Output.secret(consumer_secret),
            "isSelected": True,
            "adopt": mapping.adopt,
            "providerVersion": CxoneAccountMappingProvider.version,
            "specLocation": location,  # for messages only (never compared)
            "mappingId": None,
            "accessKeyId": None,
            "accessKeySecret": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(
            CxoneAccountMappingProvider(), "account-mapping", props, pulumi.ResourceOptions.merge(opts, secret)
        )
