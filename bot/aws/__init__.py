"""Adapters to AWS: each module owns one API family. Nothing outside bot/aws imports boto3."""
