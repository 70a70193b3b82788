"""Dynamic providers, one module per resource kind (`pulumi.dynamic.ResourceProvider`: check/diff/create/
read/update/delete). They hold no credentials (those come from the environment inside the provider
process) and reach the vendors only through `presence_sync.clients`."""
