"""Stand-ins for the outside world, for `iamauth demo` and the tests: the AWS emulator and its
seeders, a local Slack Web API, signed Slack requests, a local WSGI server."""
