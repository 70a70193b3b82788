"""The sandbox: local HTTPS emulators of the Salesforce and CXone APIs backed by SQLite, with operator
controls (request log, fault injection). Self-contained: it imports nothing else from this project, so
that it behaves like a remote vendor and never shares code paths with the clients it tests."""
