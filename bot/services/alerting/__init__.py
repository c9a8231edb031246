"""The digest tick as a pipeline of small stages, in the spirit of Alertmanager's notify pipeline:

    collect   I/O      the watches served (served.py), their alert states, silences, and the
                       metrics of every watched cluster, one read per place, each failing alone
    evaluate  pure     each threshold through the alert state machine (bot/domain/alerts.py)
    group     pure     one digest per channel, its clusters' notices
    enrich    I/O      best effort: each cluster's log detail within a budget; the chart to draw
    in place  pure     one message per alert episode: a new one for episodes that start, an
                       edit and a thread reply for news of one (in_place.py)
    render    given    text and Block Kit, by the renderer the composition root passes in
    commit    I/O      alert states and digests in one transaction, under the leader's fence

pipeline.py runs them; ports.py says what they need from the store and from AWS (aws_reads.py
is the AWS side; bot/adapters/store/repo.py's Store the store's), so the use case runs on fakes as well.
"""
