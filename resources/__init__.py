"""Pulumi resources, one module per resource kind: thin `pulumi.dynamic.Resource` subclasses that turn a
validated spec entry into inputs and expose typed outputs. They may import `providers` and
`presence_sync.spec`; they never speak HTTP."""
