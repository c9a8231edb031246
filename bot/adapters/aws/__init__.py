"""Adapters to AWS: each module owns one API family. Nothing outside bot/adapters/aws imports
boto3."""
