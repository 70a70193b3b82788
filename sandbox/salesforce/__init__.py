"""The Salesforce emulator: OAuth, REST (SOQL, sObjects, describe), the Metadata API (SOAP) and an
emulator-only agent console with a change feed. ``app.create_app`` builds it."""
