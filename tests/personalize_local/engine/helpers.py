"""Constants shared by the engine tests: recipe ARNs and where the reference data lives."""

from pathlib import Path

ARN = "arn:aws:personalize:::recipe/"
UP = ARN + "aws-user-personalization"
REPO_ROOT = Path(__file__).resolve().parents[3]
POC_DIR = REPO_ROOT.parent / "shared" / "data" / "movielens-poc"
