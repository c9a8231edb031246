"""The HTTP edge: the Bolt app factory, the WSGI routes and the request guard before Bolt, request
limits, ack timing, and gunicorn (its settings, worker class and command line)."""
