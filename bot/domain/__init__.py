"""The pure core: no I/O, no wall clock, no boto3, no Slack. Time is always passed in."""
