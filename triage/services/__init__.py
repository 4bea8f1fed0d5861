"""The use cases: intake, decisions and reviews, queues, feedback, accounts and sign-in. Each
takes its collaborators as arguments and raises domain errors (``triage.engine.errors``); the
HTTP edge turns those into problem documents."""
