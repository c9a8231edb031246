"""One module per `/iamauth` subcommand family: read the words, name what to authorise, call a
service, render the answer. handlers/__init__.py routes each subcommand to its module."""
