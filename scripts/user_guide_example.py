"""The README's user-guide example: query the demo campaign, send an event, query again (local stack)."""

import json
import time

import boto3

ep = json.load(open(".local-stack/endpoints.json"))["personalize"]
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
pz, runtime, events = (boto3.client(s, **kw) for s in ("personalize", "personalize-runtime", "personalize-events"))

group = next(g for g in pz.list_dataset_groups()["datasetGroups"] if g["name"] == "personalize-demo")
solution = next(s for s in pz.list_solutions(datasetGroupArn=group["datasetGroupArn"])["solutions"]
                if s["name"] == "demo-user-personalization")  # fmt: skip
campaign = pz.list_campaigns(solutionArn=solution["solutionArn"])["campaigns"][0]["campaignArn"]
tracker = pz.list_event_trackers(datasetGroupArn=group["datasetGroupArn"])["eventTrackers"][0]
tracking_id = pz.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])["eventTracker"]["trackingId"]

before = runtime.get_recommendations(campaignArn=campaign, userId="u0000001", numResults=5)["itemList"]
events.put_events(trackingId=tracking_id, userId="u0000001", sessionId="s1", eventList=[
    {"eventType": "purchase", "itemId": before[0]["itemId"], "sentAt": time.time()}])  # fmt: skip
after = runtime.get_recommendations(campaignArn=campaign, userId="u0000001", numResults=5)["itemList"]
print([i["itemId"] for i in before], "->", [i["itemId"] for i in after])
