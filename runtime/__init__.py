"""The sync runtime: the long-running service that keeps agents' states in step on both sides, rendered
from templates with the rules baked into its config and deployed as the last resource. It reaches the
vendors only through `presence_sync.clients`."""
