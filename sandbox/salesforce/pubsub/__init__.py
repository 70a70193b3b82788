"""The Salesforce emulator's Pub/Sub API (eventbus.v1 over gRPC): bus.py (topics, replay ids, retention), avro.py
(schemas and payloads), service.py (the gRPC service)."""
