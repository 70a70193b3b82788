"""presence-sync core: the spec (typed models of stacks/*.yaml), the vendor API clients, and the CLI.

Everything that speaks HTTP to Salesforce or CXone lives in `presence_sync.clients`; providers, the runtime,
the CLI and tests go through it. This package imports nothing from `providers`, `resources`, `runtime`
or `sandbox`.
"""
