"""iamauth: a Slack ChatOps bot for RDS/Aurora IAM database authentication."""

__version__ = "0.1.0"
