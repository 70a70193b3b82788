"""Salesforce Pub/Sub API (gRPC + Avro) client: the change stream the runtime reads. See subscriber.py."""
