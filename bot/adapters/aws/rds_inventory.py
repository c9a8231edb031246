"""Every Aurora cluster and standalone RDS DB instance of one account and region, listed: two
paginated calls (100 a page) however many databases are asked about."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.adapters.aws.errors import BOTOCORE_ERRORS, AccessDenied, aws_error
from bot.adapters.aws.rds import info_from, info_from_instance
from bot.domain.cluster import ClusterInfo

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

log = logging.getLogger(__name__)


def list_databases(rds: RDSClient) -> list[ClusterInfo]:
    """The clusters, then the DB instances that belong to no cluster (a cluster answers for its
    own): what Targets.inventory holds of a place. Without rds:DescribeDBInstances, the clusters."""
    try:
        pages = rds.get_paginator("describe_db_clusters").paginate()
        found = [info_from(c) for page in pages for c in page.get("DBClusters", [])]
    except BOTOCORE_ERRORS as error:
        raise aws_error(error, "RDS", "rds:DescribeDBClusters") from None
    try:
        instances = rds.get_paginator("describe_db_instances").paginate()
        found += [
            info_from_instance(i)
            for page in instances
            for i in page.get("DBInstances", [])
            if not i.get("DBClusterIdentifier")
        ]
    except BOTOCORE_ERRORS as error:
        failure = aws_error(error, "RDS", "rds:DescribeDBInstances")
        if not isinstance(failure, AccessDenied):
            raise failure from None
        # A policy from before DB instances: its clusters are still found, as describe_resource
        # still answers for them.
        log.warning("listing clusters only: %s", failure)
    return found
