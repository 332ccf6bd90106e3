"""After `make demo`: per pipeline, metrics per solution, recommendations with and without each filter, the exports."""

from __future__ import annotations

import os

import boto3
from personalize_ops import s3_layout
from personalize_ops.metrics import load_history, render_metrics_table
from personalize_ops.pipeline.registry import discover
from personalize_ops.pipeline.s3csv import read_csv_columns
from personalize_ops.pipeline.smoke import filter_values, sample_users


def client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def report(cfg, s3, pz, runtime) -> None:
    group = cfg.dataset_group
    newest = {}
    for rec in load_history(s3, group.bucket, group.prefix, group.name):  # oldest first: the newest one stays
        newest[rec["solution"]] = rec
    latest = {f"{s.name} ({newest[s.name]['recipe']})": newest[s.name]["metrics"] for s in cfg.solutions
              if s.name in newest}  # the config's order  # fmt: skip
    print("Offline metrics of the newest version of each solution (metric history in S3):")
    print(render_metrics_table(latest))

    group_arn = next(g["datasetGroupArn"] for g in pz.list_dataset_groups()["datasetGroups"] if g["name"] == group.name)
    staged = s3_layout.area(group.prefix, "staging", group.name)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=group.bucket, Prefix=staged).get("Contents", [])]
    interactions = next(f"s3://{group.bucket}/{k}" for k in keys if "/interactions/" in k)
    columns = {}
    for kind, ds in cfg.datasets.present().items():
        key = next((k for k in keys if f"/{kind}/" in k), None)
        if kind != "interactions" and key:
            columns[kind] = read_csv_columns(s3, f"s3://{group.bucket}/{key}", tuple(f.name for f in ds.fields))
    filters = {f["name"]: f["filterArn"] for f in pz.list_filters(datasetGroupArn=group_arn)["Filters"]}
    for solution in pz.list_solutions(datasetGroupArn=group_arn)["solutions"]:
        for campaign in pz.list_campaigns(solutionArn=solution["solutionArn"])["campaigns"]:
            print(f"\nCampaign {campaign['name']}:")
            for user in sample_users(s3, interactions, 2):
                recs = runtime.get_recommendations(campaignArn=campaign["campaignArn"], userId=user, numResults=5)
                print(f"  {user}, no filter: {[r['itemId'] for r in recs['itemList']]}")
                for f in cfg.filters:
                    values = filter_values(f.expression, columns)
                    recs = runtime.get_recommendations(campaignArn=campaign["campaignArn"], userId=user, numResults=5,
                                                       filterArn=filters[f.name], filterValues=values)  # fmt: skip
                    shown = f" {values}" if values else ""
                    print(f"  {user}, filter {f.name}{shown}: {[r['itemId'] for r in recs['itemList']]}")
    for job in cfg.batch_jobs:
        print(f"\nBatch export {job.name}: {job.destination}")


def main() -> None:
    s3 = client("s3", os.environ["PZ_S3_ENDPOINT"])
    pz = client("personalize", os.environ["PZ_PERSONALIZE_ENDPOINT"])
    runtime = client("personalize-runtime", os.environ["PZ_PERSONALIZE_ENDPOINT"])
    for pipeline in discover().good:
        title = f"Pipeline {pipeline.name or pipeline.path} (dataset group {pipeline.config.dataset_group.name})"
        print(f"\n{title}\n{'-' * len(title)}")
        report(pipeline.config, s3, pz, runtime)


if __name__ == "__main__":
    main()
